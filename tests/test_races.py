"""A chunk whose write loses a race to another upload is checked again, and so is
the chunk after it, whose lookups ran (on the checking thread's own connection) while
the first one was being written. Deterministic on PostgreSQL: another transaction
holds a number's unique index entry until the job's write waits on it."""

import threading

import pytest
from django.db import connection, transaction

from contactload.models import Contact, Phonebook, UploadJob
from tests.test_recovery import wait_until

TAKEN = "contact with this numeric value is already exist in Sales campaign"
HELD = "+919876543211"


def waiting_on_a_lock() -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
        )
        return cursor.fetchone()[0] > 0


def hold_a_number(campaign, held: threading.Event, problems: list) -> None:
    """Store HELD for another upload, and commit only once someone waits on it."""
    try:
        with transaction.atomic():
            phonebook = Phonebook.objects.create(name="another upload", campaign=campaign)
            Contact.objects.create(
                campaign=campaign, phonebook=phonebook, numeric=HELD, dedupe_key=HELD
            )
            held.set()
            wait_until(waiting_on_a_lock, 60, "the job's write to wait on the held number")
    except Exception as exc:  # reported by the test
        problems.append(exc)
    finally:
        held.set()
        connection.close()


@pytest.mark.django_db(transaction=True)
def test_a_lost_race_rechecks_the_chunk_and_the_one_looked_up_behind_it(
    process, agents, campaign, settings
):
    if connection.vendor != "postgresql":
        pytest.skip("waits on a unique index entry of another transaction: the PostgreSQL pass")
    settings.CONTACTLOAD_CHUNK_ROWS = 2
    held, problems = threading.Event(), []
    other = threading.Thread(target=hold_a_number, args=(campaign, held, problems))
    other.start()
    assert held.wait(30)
    rows = [
        {"numeric": "9876543210"},
        {"numeric": "9876543211"},  # chunk 1: looks free, but its write waits, then loses
        {"numeric": "+91 98765 43211"},  # chunk 2: looked up while chunk 1 was written
        {"numeric": "9876543212"},
    ]
    body = process({"campaign": "Sales", "bulk_data": rows})
    other.join(60)
    assert problems == []
    items = {item["row"]: item["description"] for item in body["improper_data"]}
    # Without the second check, row 3 would count as a repeat of row 2 ("in file").
    assert items == {2: TAKEN, 3: TAKEN}
    job = UploadJob.objects.get()
    assert (job.state, job.inserted, job.rejected) == ("completed", 2, 2)
    assert sorted(
        Contact.objects.filter(phonebook=job.phonebook).values_list("numeric", flat=True)
    ) == [
        "+919876543210",
        "+919876543212",
    ]
    assert Contact.objects.filter(numeric=HELD).count() == 1
