"""A run of an insert that starts at the first row knows what it stored, and looks up
only the numbers and unique values that may clash (ingest/seen.py): a repeat far
back in the upload, rows rejected anyway, and, after the unique indexes objected on a
write, everything. Through HTTP and the real worker, checked in the database."""

import logging

from contactload.ingest import lookups
from contactload.ingest.campaign import load_rules
from contactload.ingest.insert import InsertPlan
from contactload.ingest.payload import stored_chunks
from contactload.ingest.run import claim, commit_chunk
from contactload.ingest.seen import Filter
from contactload.models import Contact, UploadJob
from tests.conftest import run_worker


def numbers(first: int, last: int) -> list[dict]:
    return [{"numeric": f"98765432{i:02d}"} for i in range(first, last)]


def codes(body: dict) -> dict[int, dict]:
    return {item["row"]: item["error_codes"] for item in body["improper_data"]}


def test_a_campaign_allowing_duplicates_rejects_a_number_repeated_chunks_later(
    process, agents, campaign, settings
):
    campaign.duplicates = "allow"
    campaign.save()
    settings.CONTACTLOAD_CHUNK_ROWS = 2
    rows = [*numbers(0, 8), {"numeric": "9876543200"}, {"numeric": "+91 98765 43203"}]
    body = process({"campaign": "Sales", "bulk_data": rows})
    assert codes(body) == {
        9: {"numeric": ["duplicate_in_file"]},
        10: {"numeric": ["duplicate_in_file"]},
    }
    assert Contact.objects.count() == 8


def test_a_rejected_row_is_told_every_duplicate_it_is(process, agents, settings):
    process(
        {
            "campaign": "Sales",
            "bulk_data": [{"numeric": "9876543299", "customer_info:customer_id": "OLD"}],
        }
    )
    settings.CONTACTLOAD_CHUNK_ROWS = 2
    rows = [
        {**row, "email": f"n{i}@example.com", "customer_info:customer_id": f"N{i}"}
        for i, row in enumerate(numbers(0, 5))
    ]
    rows.append({"numeric": "9876543299", "email": "bad", "customer_info:customer_id": "OLD"})
    body = process({"campaign": "Sales", "bulk_data": rows})
    assert codes(body) == {
        6: {
            "numeric": ["duplicate_in_campaign"],
            "email": ["invalid_email"],
            "customer_info:customer_id": ["duplicate_in_campaign"],
        }
    }
    assert Contact.objects.count() == 6


def test_chunks_that_meet_another_uploads_contacts_after_clean_ones(process, agents, settings):
    first = process({"campaign": "Sales", "bulk_data": numbers(0, 4)})
    settings.CONTACTLOAD_CHUNK_ROWS = 2
    rows = [*numbers(10, 16), {"numeric": "9876543201"}, *numbers(16, 17), *numbers(3, 4)]
    rows += numbers(17, 21)
    body = process({"campaign": "Sales", "bulk_data": rows})
    taken = {"numeric": ["duplicate_in_campaign"]}
    assert codes(body) == {7: taken, 9: taken}
    assert (body["inserted"], body["rejected"]) == (11, 2)
    second = UploadJob.objects.get(pk=body["job_id"])
    stored = set(
        Contact.objects.filter(phonebook=second.phonebook).values_list("numeric", flat=True)
    )
    assert stored == {f"+9198765432{i:02d}" for i in range(10, 21)}
    assert Contact.objects.count() == 4 + 11
    assert first["inserted"] == 4


def test_an_upload_to_a_campaign_holding_contacts_looks_its_first_chunk_up_in_full(
    process, agents, settings, caplog
):
    """A lead sent again is found by the lookups, not by the unique index on a write
    (which would roll the chunk back and check it again)."""
    process({"campaign": "Sales", "bulk_data": numbers(0, 4)})
    settings.CONTACTLOAD_CHUNK_ROWS = 3
    caplog.set_level(logging.INFO, logger="contactload.worker")
    rows = [*numbers(10, 12), *numbers(2, 3), *numbers(12, 16)]
    body = process({"campaign": "Sales", "bulk_data": rows})
    assert codes(body) == {3: {"numeric": ["duplicate_in_campaign"]}}
    assert "lost a race" not in caplog.text
    assert Contact.objects.count() == 4 + 6


def test_a_resumed_run_looks_up_every_value(upload, api, agents, campaign, settings):
    """A run that starts after rows another run stored cannot know them: it must look
    every value up (in a campaign allowing duplicates only the lookup finds a repeat)."""
    campaign.duplicates = "allow"
    campaign.save()
    settings.CONTACTLOAD_CHUNK_ROWS = 2
    rows = [*numbers(0, 4), {"numeric": "9876543201"}]
    job_id = upload({"campaign": "Sales", "bulk_data": rows}).json()["job_id"]
    # an earlier run commits the first chunk, then stops
    job = claim(job_id)
    rules = load_rules(job.campaign)
    ctx = lookups.JobContext(rules=rules, phonebook_id=job.phonebook_id, agents={})
    plan = InsertPlan(ctx, job)
    commit_chunk(job, plan, plan.prepare(*next(stored_chunks(job))))
    UploadJob.objects.filter(pk=job_id).update(state=UploadJob.State.QUEUED, run_token="")
    run_worker()
    body = api.get(f"/api/bulkphonebookupload/status/{job_id}/").json()
    assert codes(body) == {5: {"numeric": ["duplicate_in_file"]}}
    assert UploadJob.objects.get(pk=job_id).attempts == 2
    assert Contact.objects.count() == 4


def test_the_filter_names_every_value_it_was_given_and_few_others():
    stored = Filter()
    given = {f"+9198{i:08d}" for i in range(50_000)}
    for start in range(0, 50_000, 5_000):  # chunk by chunk, as a run adds them
        stored.add({f"+9198{i:08d}" for i in range(start, start + 5_000)})
    assert stored.maybe(given) == given
    others = {f"+9199{i:08d}" for i in range(50_000)}
    assert len(stored.maybe(others)) < 50  # about 1 in 10**6 at this fill
    small = Filter(bits=64)  # full: it names everything, which only costs lookups
    small.add(given)
    assert small.maybe(others) == others


def test_values_setting_bits_of_one_byte_in_one_call_are_all_named():
    crowded = Filter(bits=2**12)  # 512 bytes for 900 bits: many share a byte in the call
    given = {f"+9198{i:08d}" for i in range(300)}
    crowded.add(given)
    assert crowded.maybe(given) == given
