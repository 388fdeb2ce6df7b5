"""A worker follows one upload with the next one queued (ingest/run.py ``Stream``): the
next job's first chunk is checked while the last chunks of the one before are
written. Each job still completes, fails or goes back to the queue on its own. Through
HTTP and the real django-tasks worker, checked in the database."""

import logging

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_tasks.base import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from contactload.ingest import lookups, pipeline, writers
from contactload.ingest.campaign import load_rules
from contactload.ingest.insert import InsertPlan
from contactload.ingest.payload import stored_chunks
from contactload.ingest.run import STOPPING, Stream, claim, finish
from contactload.models import Contact, RowResult, UploadChunk, UploadJob
from contactload.tasks import deliver_callback, next_runs, process_upload
from tests.conftest import run_worker

pytestmark = pytest.mark.django_db(transaction=True)  # the worker's threads read the jobs


def postgresql_only() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("a SQLite worker does not follow one job with the next: the PostgreSQL pass")


def numbers(first: int, last: int) -> list[dict]:
    return [{"numeric": f"98765432{i:02d}"} for i in range(first, last)]


def post(upload, rows: list[dict]) -> str:
    response = upload({"campaign": "Sales", "bulk_data": rows})
    assert response.status_code == 200, response.content
    return response.json()["job_id"]


def tasks_of(job_id: str) -> list[str]:
    """The statuses of the job's runs in the task queue."""
    return [
        status
        for status, args in DBTaskResult.objects.values_list("status", "args_kwargs")
        if args["args"] == [job_id]
    ]


def states(*job_ids: str) -> list[tuple]:
    jobs = {job.pk: job for job in UploadJob.objects.filter(pk__in=job_ids)}
    return [
        (jobs[pk].state, jobs[pk].inserted, jobs[pk].rejected, jobs[pk].attempts) for pk in job_ids
    ]


def test_one_task_runs_the_uploads_queued_behind_its_own(upload, campaign, settings, caplog):
    """On PostgreSQL; a SQLite worker does not follow (an upload's acceptance would wait
    for the write lock the whole stream long), and each upload runs in its own task."""
    followed = connection.vendor == "postgresql"
    settings.CONTACTLOAD_CHUNK_ROWS = 3
    caplog.set_level(logging.INFO, logger="contactload.worker")
    first = post(upload, numbers(0, 7))
    # the second upload repeats a number of the first's last chunk in its own first chunk
    second = post(upload, [*numbers(10, 12), *numbers(6, 7), *numbers(12, 16)])

    run_worker()

    assert states(first, second) == [("completed", 7, 0, 1), ("completed", 6, 1, 1)]
    # followed, its own task was taken off the queue; else that task ran it
    assert tasks_of(second) == ([] if followed else [TaskResultStatus.SUCCESSFUL])
    assert "lost a race" not in caplog.text
    assert Contact.objects.count() == 13
    row = RowResult.objects.get(job_id=second)
    assert (row.row, [code for _header, code, _message in row.errors]) == (
        3,
        ["duplicate_in_campaign"],
    )


def test_an_update_queued_between_two_uploads_runs_before_the_second(upload, campaign):
    """A stream follows only a job the queue gives next: an update queued before the
    second upload is not left waiting behind it (nor for CONTACTLOAD_FOLLOW_S)."""
    first = post(upload, numbers(0, 3))
    response = upload(
        {
            "campaign": "Sales",
            "action_type": "update",
            "reference_field": "numeric",
            "bulk_data": [{"numeric": "9876543201", "first_name": "Ann"}],
        }
    )
    assert response.status_code == 201, response.content
    update = response.json()["job_id"]
    second = post(upload, numbers(3, 6))

    run_worker()

    jobs = UploadJob.objects.in_bulk([first, update, second])
    assert [
        (jobs[pk].state, jobs[pk].inserted, jobs[pk].updated) for pk in (first, update, second)
    ] == [
        ("completed", 3, 0),
        ("completed", 0, 1),
        ("completed", 3, 0),
    ]
    assert jobs[first].finished_at < jobs[update].started_at
    assert jobs[update].finished_at < jobs[second].started_at
    assert tasks_of(second) == [TaskResultStatus.SUCCESSFUL]  # not followed: its own task ran it
    updated = Contact.objects.filter(first_name="Ann").values_list("numeric", "phonebook__job")
    assert [(numeric[-10:], job) for numeric, job in updated] == [("9876543201", first)]


def test_the_queue_names_the_job_of_a_run_queued_with_keywords(db):
    process_upload.enqueue(job_id="by-keyword")
    deliver_callback.enqueue("some-job", 1)
    process_upload.enqueue("by-position")
    assert next_runs(5) == ["by-keyword", None, "by-position"]


def test_a_stream_passes_over_the_run_of_a_job_another_worker_took(upload, campaign, settings):
    postgresql_only()
    settings.CONTACTLOAD_CHUNK_ROWS = 3
    first, taken, third = (post(upload, numbers(i, i + 3)) for i in (0, 3, 6))
    UploadJob.objects.filter(pk=taken).update(state=UploadJob.State.RUNNING, run_token="other")

    run_worker()

    assert states(first, third) == [("completed", 3, 0, 1), ("completed", 3, 0, 1)]
    assert tasks_of(third) == []  # followed: its own task was taken off the queue
    assert UploadJob.objects.get(pk=taken).state == UploadJob.State.RUNNING


def test_a_run_asks_for_a_job_to_follow_once_its_chunks_are_out(upload, campaign, settings):
    """Not again as its last chunks are written: a job claimed then would be let go."""
    settings.CONTACTLOAD_CHUNK_ROWS = 3
    job = claim(post(upload, numbers(0, 7)))
    stream, asked = Stream(job), []

    def follow():
        asked.append(len(asked))

    pipeline.run_chunks(stream.segment(job), follow, stream.entering)

    assert asked == [0]
    assert UploadJob.objects.get(pk=job.pk).processed == 7


def test_a_worker_asked_to_stop_follows_no_other_upload(upload, campaign):
    postgresql_only()
    first, second = post(upload, numbers(0, 3)), post(upload, numbers(3, 6))
    STOPPING.set()
    try:
        run_worker()
    finally:
        STOPPING.clear()
    assert states(first, second) == [("completed", 3, 0, 1), ("completed", 3, 0, 1)]
    assert tasks_of(second) == [TaskResultStatus.SUCCESSFUL]


def test_a_worker_told_not_to_follow_runs_each_upload_in_its_own_task(
    upload, campaign, settings, caplog
):
    settings.CONTACTLOAD_FOLLOW_S = 0
    caplog.set_level(logging.INFO, logger="contactload.worker")
    first, second = post(upload, numbers(0, 3)), post(upload, numbers(3, 6))

    run_worker()

    assert states(first, second) == [("completed", 3, 0, 1), ("completed", 3, 0, 1)]
    assert tasks_of(second) == [TaskResultStatus.SUCCESSFUL]


def test_a_followed_upload_that_fails_is_retried_and_the_one_before_it_completes(
    upload, campaign, settings
):
    postgresql_only()
    settings.CONTACTLOAD_CHUNK_ROWS = 3
    first, second = post(upload, numbers(0, 6)), post(upload, numbers(6, 12))
    UploadChunk.objects.filter(job_id=second, first_row=0).update(data=b"not a chunk")

    run_worker()

    assert states(first, second) == [("completed", 6, 0, 1), ("queued", 0, 0, 1)]
    # one run waits for it, after the back-off (its own first task was taken off the queue)
    waiting = DBTaskResult.objects.filter(status=TaskResultStatus.READY)
    assert [args["args"] for args in waiting.values_list("args_kwargs", flat=True)] == [[second]]
    assert waiting.get().run_after > timezone.now()
    assert "Traceback" in UploadJob.objects.get(pk=second).error
    assert sorted(Contact.objects.values_list("phonebook__job", flat=True)) == [first] * 6


def test_an_upload_claimed_ahead_goes_back_to_the_queue_when_the_one_before_it_fails(
    upload, campaign, settings, caplog
):
    postgresql_only()
    settings.CONTACTLOAD_CHUNK_ROWS = 3
    caplog.set_level(logging.INFO, logger="contactload.worker")
    first, second = post(upload, numbers(0, 6)), post(upload, numbers(6, 12))
    UploadChunk.objects.filter(job_id=first, first_row=3).update(data=b"not a chunk")

    run_worker()

    assert f"job {second} goes back to the queue" in caplog.text
    # the first waits for its retry (a stream follows new jobs only); the second ran in a
    # task of its own, as if never claimed
    assert states(first, second) == [("queued", 3, 0, 1), ("completed", 6, 0, 1)]
    assert Contact.objects.count() == 9


def test_the_chunk_of_the_upload_before_counts_as_another_uploads_contacts(
    upload, campaign, settings
):
    """Looked up while the last chunk of the upload before it is not committed yet, a
    chunk takes that chunk's numbers and unique values as stored in the campaign."""
    settings.CONTACTLOAD_CHUNK_ROWS = 10
    rows = [
        {"numeric": "9876543200", "customer_info:customer_id": "C-1"},
        {"numeric": "9876543201", "customer_info:customer_id": "C-2"},
    ]
    first = post(upload, rows)
    again = [
        {"numeric": "9876543200", "customer_info:customer_id": "C-9"},
        {"numeric": "9876543209", "customer_info:customer_id": "C-2"},
        {"numeric": "9876543210", "customer_info:customer_id": "C-3"},
    ]
    second = post(upload, again)
    plans = [plan_of(job_id) for job_id in (first, second)]
    chunks = [plan.prepare(*next(stored_chunks(plan.job))) for plan in plans]
    before = plans[0].check(chunks[0])  # not written: the database holds no contact

    checked = plans[1].check(chunks[1], before)

    assert codes(checked) == {
        1: [("numeric", "duplicate_in_campaign")],
        2: [("customer_info:customer_id", "duplicate_in_campaign")],
    }
    assert checked.accepted == ({"+919876543210"}, {"C-3"})
    # after a chunk of its own upload, the same values are duplicates in the file
    again = plans[1].check(chunks[1], plans[1].check(chunks[1]))
    in_file = [("numeric", "duplicate_in_file"), ("customer_info:customer_id", "duplicate_in_file")]
    assert codes(again) == {1: in_file, 2: in_file, 3: in_file}


def codes(checked) -> dict[int, list[tuple]]:
    return {row.row: [(h, code) for h, code, _m in row.errors] for row in checked.rejected}


def plan_of(job_id: str) -> InsertPlan:
    job = UploadJob.objects.select_related("campaign").get(pk=job_id)
    rules = load_rules(job.campaign)
    ctx = lookups.JobContext(rules=rules, phonebook_id=job.phonebook_id, agents={})
    return InsertPlan(ctx, job)


def test_a_job_completed_while_chunks_commit_lazily_waits_for_the_disk(campaign):
    """A job completed between two others makes its chunks durable (PostgreSQL's
    ``synchronous_commit`` is off for the chunks' commits)."""
    postgresql_only()
    with writers.lazy_commits():
        with connection.cursor() as cursor:
            cursor.execute("SHOW synchronous_commit")
            assert cursor.fetchone() == ("off",)
        with transaction.atomic(), connection.cursor() as cursor:
            writers.durable_commit()
            cursor.execute("SHOW synchronous_commit")
            assert cursor.fetchone() == ("on",)
        with connection.cursor() as cursor:
            cursor.execute("SHOW synchronous_commit")
            assert cursor.fetchone() == ("off",)  # for that transaction only


def test_a_number_repeated_chunks_later_is_found_before_those_chunks_commit(
    upload, campaign, settings
):
    """SQLite commits several chunks at a time, and the lookups of a chunk run on another
    connection, which cannot see those written since the last commit: they are passed
    along. In a campaign allowing duplicates no unique index would catch a miss."""
    campaign.duplicates = "allow"
    campaign.save()
    settings.CONTACTLOAD_CHUNK_ROWS = 2
    rows = [*numbers(0, 8), {"numeric": "9876543200"}, {"numeric": "+91 98765 43203"}]
    job_id = post(upload, rows)

    run_worker()

    assert states(job_id) == [("completed", 8, 2, 1)]
    assert sorted(RowResult.objects.values_list("row", flat=True)) == [9, 10]
    assert Contact.objects.count() == 8


def test_a_job_completed_inside_a_stream_commits_durably(upload, campaign):
    """Its chunks' commits did not wait for the disk: its completion's must, and so
    makes them durable before anyone reads Completed."""
    postgresql_only()
    job = claim(post(upload, numbers(0, 1)))
    with writers.lazy_commits(), CaptureQueriesContext(connection) as queries:
        finish(job)
    sql = [query["sql"] for query in queries.captured_queries]
    completed = next(i for i, text in enumerate(sql) if text.startswith("UPDATE"))
    assert "SET LOCAL synchronous_commit TO ON" in sql[:completed]
    assert UploadJob.objects.get(pk=job.pk).state == "completed"
