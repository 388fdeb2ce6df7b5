"""Crash recovery: stale jobs are queued again or failed for good, orphaned jobs
get their task back, and a real worker killed with SIGKILL over and over (or a
database restart under it) still ends with every row having exactly one outcome."""

import os
import random
import signal
import subprocess
import sys
import time
from datetime import timedelta

import pytest
from django.db import OperationalError, connection
from django.db.models import Count
from django.utils import timezone
from django_tasks.base import TaskResultStatus
from django_tasks_db.models import DBTaskResult
from rest_framework.test import APIClient

from contactload.ingest.recovery import recover
from contactload.models import Campaign, Contact, Role, RowResult, UploadJob, WorkerBeat
from contactload.tokens import issue_token
from tests.conftest import make_user
from tests.test_worker_process import worker_env


def stale(job_id: str, seconds: float = 3600) -> None:
    UploadJob.objects.filter(pk=job_id).update(
        state="running",
        run_token="dead-run",
        heartbeat_at=timezone.now() - timedelta(seconds=seconds),
    )


def ready_tasks_for(job_id: str) -> int:
    return sum(
        1
        for args in DBTaskResult.objects.filter(status=TaskResultStatus.READY).values_list(
            "args_kwargs", flat=True
        )
        if args["args"] == [job_id]
    )


def test_a_running_job_with_a_stale_heartbeat_is_queued_again(
    upload, django_capture_on_commit_callbacks
):
    job_id = upload({"campaign": "Sales", "bulk_data": [{"numeric": "9876543210"}]}).json()[
        "job_id"
    ]
    DBTaskResult.objects.all().delete()  # its first task was taken by the dead worker
    stale(job_id)
    with django_capture_on_commit_callbacks(execute=True):
        assert recover() == [job_id]
    job = UploadJob.objects.get()
    assert (job.state, job.run_token) == ("queued", "")
    assert "stopped responding" in job.error
    assert ready_tasks_for(job_id) == 1


def test_a_fresh_heartbeat_is_left_alone(upload):
    job_id = upload({"campaign": "Sales", "bulk_data": [{"numeric": "9876543210"}]}).json()[
        "job_id"
    ]
    stale(job_id, seconds=1)
    assert recover() == []
    assert UploadJob.objects.get().state == "running"


def test_a_job_out_of_attempts_fails_for_good(api, upload, settings):
    settings.CONTACTLOAD_MAX_ATTEMPTS = 2
    job_id = upload({"campaign": "Sales", "bulk_data": [{"numeric": "9876543210"}]}).json()[
        "job_id"
    ]
    stale(job_id)
    UploadJob.objects.filter(pk=job_id).update(attempts=2)
    assert recover() == [job_id]
    body = api.get(f"/api/bulkphonebookupload/status/{job_id}/").json()
    assert (body["status"], body["state"]) == ("Failed", "failed")


def test_a_queued_job_without_a_task_is_enqueued_again(upload):
    job_id = upload({"campaign": "Sales", "bulk_data": [{"numeric": "9876543210"}]}).json()[
        "job_id"
    ]
    DBTaskResult.objects.all().delete()  # as if the process died between commit and enqueue
    assert recover() == []  # too young to tell from an upload being accepted
    UploadJob.objects.filter(pk=job_id).update(created_at=timezone.now() - timedelta(hours=1))
    assert recover() == [job_id]
    assert ready_tasks_for(job_id) == 1
    assert recover() == []  # now it has one


def test_tasks_left_running_by_dead_workers_are_failed_and_no_longer_counted(upload, db):
    job_id = upload({"campaign": "Sales", "bulk_data": [{"numeric": "9876543210"}]}).json()[
        "job_id"
    ]
    queued = DBTaskResult.objects.get()
    long_ago, now = timezone.now() - timedelta(hours=1), timezone.now()
    WorkerBeat.objects.create(worker_id="live", hostname="h", pid=1, last_seen=now)
    WorkerBeat.objects.create(worker_id="stale", hostname="h", pid=2, last_seen=long_ago)
    beating = upload({"campaign": "Sales", "bulk_data": [{"numeric": "9876543211"}]}).json()
    beating = beating["job_id"]  # (its own task ready too, below)
    UploadJob.objects.filter(pk=beating).update(state="running", heartbeat_at=now)
    runs = {}
    for worker in ("live", "stale", "gone", "beating"):  # (gone: its row removed at a stop)
        runs[worker] = DBTaskResult.objects.create(
            task_path=queued.task_path,
            args_kwargs={"args": [beating if worker == "beating" else job_id], "kwargs": {}},
            queue_name=queued.queue_name,
            backend_name=queued.backend_name,
            run_after=queued.run_after,
            status=TaskResultStatus.RUNNING,
            started_at=long_ago,
            worker_ids=["before", worker],
        )
    assert APIClient().get("/health").json()["queue"]["running"] == 4

    recover()

    states = {
        worker: DBTaskResult.objects.values_list("status", "exception_class_path").get(pk=run.pk)
        for worker, run in runs.items()
    }
    lost = (TaskResultStatus.FAILED, "contactload.ingest.recovery.WorkerLost")
    running = (TaskResultStatus.RUNNING, "")
    # a task whose worker's beat is late but whose job still beats is alive
    assert states == {"live": running, "stale": lost, "gone": lost, "beating": running}
    assert DBTaskResult.objects.get(pk=queued.pk).status == TaskResultStatus.READY
    assert APIClient().get("/health").json()["queue"]["running"] == 2


# --- real processes --------------------------------------------------------------------

ROWS = 200_000
CHUNK = 2_000


def csv_rows() -> tuple[str, set[str], int]:
    """The CSV, the canonical numbers that must be stored, and the number of bad rows."""
    lines, good, bad = ["numeric,first_name"], set(), 0
    for i in range(ROWS):
        if i % 50 == 7:
            lines.append(f"12{i},bad")
            bad += 1
        elif i % 100 == 9:
            lines.append(f"9{i - 1:09d},dup")  # the row before, again
            bad += 1
        else:
            lines.append(f"9{i:09d},ok")
            good.add(f"+919{i:09d}")
    return "\n".join(lines) + "\n", good, bad


def start_worker() -> subprocess.Popen:
    env = {
        **worker_env(),
        "CONTACTLOAD_STALE_AFTER_S": "1.5",
        "CONTACTLOAD_REAP_INTERVAL_S": "0.3",
        "CONTACTLOAD_MAX_ATTEMPTS": "1000",
        "CONTACTLOAD_RETRY_BACKOFF_S": "0.2",
        # SQLite: two chunks a commit (in savepoints), so that every run commits before
        # its kill and ten runs leave rows to do
        "CONTACTLOAD_SQLITE_COMMIT_ROWS": str(2 * CHUNK),
    }
    return subprocess.Popen(
        [sys.executable, "-m", "contactload.cli", "worker", "--interval", "0.1"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def job_facts(job_id: str) -> tuple[str, int]:
    for _attempt in range(100):  # the database may be restarting under us
        try:
            return UploadJob.objects.values_list("state", "processed").get(pk=job_id)
        except OperationalError:
            connection.close()
            time.sleep(0.2)
    raise AssertionError("the database did not come back")


def wait_until(condition, timeout: float, what: str, poll: float = 0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if result := condition():
            return result
        time.sleep(poll)
    raise AssertionError(f"timed out waiting for {what}")


def upload_csv(settings) -> tuple[str, set[str], int]:
    settings.CONTACTLOAD_CHUNK_ROWS = CHUNK
    campaign = Campaign.objects.create(name="Sales")
    manager = make_user("crm_push", Role.MANAGER, [campaign])
    client = APIClient(HTTP_AUTHORIZATION=f"Token {issue_token(manager)}")
    content, good, bad = csv_rows()
    response = client.generic(
        "POST", "/api/bulkphonebookupload/v1/?campaign=Sales", content, content_type="text/csv"
    )
    assert response.status_code == 200
    return response.json()["job_id"], good, bad


def assert_exactly_one_outcome_each(job_id: str, good: set[str], bad: int) -> None:
    job = UploadJob.objects.get(pk=job_id)
    assert job.state == "completed", job.error
    assert (job.total, job.processed, job.inserted, job.rejected) == (ROWS, ROWS, len(good), bad)
    assert set(Contact.objects.values_list("numeric", flat=True)) == good
    assert Contact.objects.count() == len(good)
    assert not Contact.objects.values("numeric").annotate(n=Count("id")).filter(n__gt=1).exists()
    rows = list(RowResult.objects.filter(job_id=job_id).values_list("row", flat=True))
    assert len(rows) == len(set(rows)) == bad


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_kill_9_loop_loses_and_doubles_nothing(settings):
    job_id, good, bad = upload_csv(settings)
    chaos = random.Random(2026)
    kills = 0
    while kills < 10:
        old_run, before = UploadJob.objects.values_list("run_token", "processed").get(pk=job_id)
        worker = start_worker()

        def working(old_run=old_run, before=before) -> bool:
            # this worker holds the job (a new run) and has committed a chunk of it
            run, processed = UploadJob.objects.values_list("run_token", "processed").get(pk=job_id)
            return run not in ("", old_run) and processed > before

        try:
            wait_until(working, 60, "the worker to take the job and commit a chunk", 0.005)
            # a random moment while it works (a run does up to ~100k rows/s here: 0.05 s
            # keeps ten runs well short of the 200k rows; with 0.1 s, a run now and then
            # wrote the last chunk before its kill, and the next had nothing to commit)
            time.sleep(chaos.uniform(0, 0.05))
        finally:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait()
        kills += 1
        assert job_facts(job_id)[0] != "completed", "the job finished before 10 kills"
    worker = start_worker()
    try:
        wait_until(lambda: job_facts(job_id)[0] == "completed", 300, "the job to complete")
        # the runs the kills cut short are failed by the live worker's sweep
        wait_until(lambda: not DBTaskResult.objects.running().exists(), 60, "no task running")
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        worker.wait()
    assert_exactly_one_outcome_each(job_id, good, bad)
    assert UploadJob.objects.get(pk=job_id).attempts == kills + 1  # one run per worker
    lost = DBTaskResult.objects.failed().filter(exception_class_path__endswith=".WorkerLost")
    assert lost.count() == kills


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_running_worker_is_counted_alive_by_health_until_it_stops():
    def alive() -> int:
        return APIClient().get("/health").json()["workers"]["alive"]

    worker = start_worker()
    try:
        wait_until(lambda: alive() == 1, 60, "the worker's first beat")
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        worker.wait()
    assert alive() == 0  # a worker that stops removes its row


JOB_SETTINGS = {
    # vendor: (statements that start and end a job's lazy commits, the setting, its value)
    "postgresql": (
        ["SET synchronous_commit TO OFF", "RESET synchronous_commit"],
        "SHOW synchronous_commit",
        "on",
    ),
    "sqlite": (
        ["PRAGMA wal_autocheckpoint=262144", "PRAGMA wal_autocheckpoint=16384"],
        "PRAGMA wal_autocheckpoint",
        16384,
    ),
}


def test_a_jobs_commits_are_lazy_only_while_it_runs(process, campaign):
    """PostgreSQL: the chunks' commits do not wait for the disk; the job's end does.
    SQLite: the job's connection copies its WAL back less often, and all of it before
    the job ends. Either way the session is left as it was."""
    (start, end), show, value = JOB_SETTINGS[connection.vendor]
    statements = []

    def record(execute, sql, params, many, context):
        statements.append((sql, params))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):
        body = process({"campaign": "Sales", "bulk_data": [{"numeric": "9876543210"}]})
    assert body["inserted"] == 1
    sqls = [sql for sql, _params in statements]
    assert start in sqls
    assert end in sqls
    completed = next(
        index for index, (_sql, params) in enumerate(statements) if "completed" in (params or ())
    )
    assert sqls.index(start) < sqls.index(end) < completed
    with connection.cursor() as cursor:
        cursor.execute(show)
        assert cursor.fetchone()[0] == value
