"""An upload accepted, a token issued, a DNC number listed, a staff login, an admin
change, a worker's liveness beat, a configuration loaded or any other write while a
long job runs is not kept waiting for the job's end. On SQLite they need the one write
lock, and a job commits and begins again within microseconds, so a waiting writer
missed every gap: the job now lets it in between two chunks (``writers.make_way``),
and every write on another connection says it waits (the backend,
``contactload.sqlite``; ``writers.short_write`` for a turn that lasts through a
transaction's ``on_commit`` callbacks). Through HTTP (the beat: the worker's own sweep; the
configuration: the CLI command) and the real django-tasks worker, in the database."""

import io
import sqlite3
import threading
import time

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import MD5PasswordHasher
from django.contrib.auth.models import Group
from django.contrib.sessions.models import Session
from django.core.management import call_command
from django.db import connection
from django.test import Client
from knox.models import AuthToken
from rest_framework.test import APIClient

from contactload.ingest import writers
from contactload.management.commands.worker import recover_quietly
from contactload.models import Campaign, Contact, DncEntry, UploadJob, WorkerBeat
from tests.conftest import run_worker

pytestmark = pytest.mark.django_db(transaction=True)  # the worker's threads read the jobs

ROWS = 6_000


def numbers(first: int, last: int) -> list[dict]:
    return [{"numeric": f"9{i:09d}"} for i in range(first, last)]


def wait_for(condition, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "the condition never held"
        time.sleep(0.005)


def writing(path: str) -> bool:
    """Whether another connection holds SQLite's write lock (it cannot be had at once)."""
    probe = sqlite3.connect(path, timeout=0, isolation_level=None)
    try:
        probe.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError:
        return True
    finally:
        probe.close()  # (and its transaction with it)
    return False


def other_upload(upload, api, admin, tmp_path):
    return upload({"campaign": "Sales", "bulk_data": numbers(ROWS, ROWS + 1)})


def new_token(upload, api, admin, tmp_path):
    return APIClient().post(
        "/api/generate-token/", {"username": "crm_push", "password": "secret-pw"}, format="json"
    )


def dnc_entry(upload, api, admin, tmp_path):
    item = {"numeric": "9123456789", "campaign": "Sales", "global_dnc": "false"}
    return api.post("/api/upload-dnc/", [item], format="json")


def staff_login(upload, api, admin, tmp_path):
    return Client().post("/accounts/login/", {"username": "crm_push", "password": "secret-pw"})


def admin_change(upload, api, admin, tmp_path):
    return admin.post("/admin/auth/group/add/", {"name": "supervisors"})


def worker_beat(upload, api, admin, tmp_path):
    recover_quietly("beating-worker")


CONFIG = "campaigns:\n  - name: Collections\n    country: IN\n"


def config_load(upload, api, admin, tmp_path):
    """Many writes in one transaction that asks for no turn of its own."""
    path = tmp_path / "more.yaml"
    path.write_text(CONFIG)
    call_command("load_config", str(path), stdout=io.StringIO())


def plain_write(upload, api, admin, tmp_path):
    """One write in autocommit, asking for no turn of its own."""
    Group.objects.create(name="dialers")


ANSWERS = {staff_login: 302, admin_change: 302, worker_beat: None}
ANSWERS.update({config_load: None, plain_write: None})


@pytest.fixture
def admin(db) -> Client:
    client = Client()
    client.force_login(get_user_model().objects.create_superuser("boss", "b@example.com", "pw"))
    return client


@pytest.mark.parametrize("commit_rows", [10 * ROWS, 0], ids=["one-transaction", "per-chunk"])
@pytest.mark.parametrize(
    "request_",
    [
        other_upload,
        new_token,
        dnc_entry,
        staff_login,
        admin_change,
        worker_beat,
        config_load,
        plain_write,
    ],
    ids=lambda f: f.__name__,
)
def test_a_short_write_goes_between_two_chunks_of_a_running_job(
    request_, commit_rows, upload, api, campaign, manager, admin, settings, tmp_path
):
    settings.CONTACTLOAD_CHUNK_ROWS = 10
    settings.CONTACTLOAD_SQLITE_COMMIT_ROWS = commit_rows  # on SQLite: rows per transaction
    response = upload({"campaign": "Sales", "bulk_data": numbers(0, ROWS)})
    assert response.status_code == 200, response.content
    long_job = response.json()["job_id"]
    worker = threading.Thread(target=run_worker)
    worker.start()
    try:
        if connection.vendor == "sqlite":  # the job is in its transaction
            path = connection.settings_dict["NAME"]
            wait_for(lambda: UploadJob.objects.get(pk=long_job).state == "running")
            wait_for(lambda: writing(path))
        else:  # its commits are under way
            wait_for(lambda: UploadJob.objects.get(pk=long_job).processed > 0)

        sessions = Session.objects.count()
        answer = request_(upload, api, admin, tmp_path)

        expected = ANSWERS.get(request_, 200)
        assert getattr(answer, "status_code", None) == expected, getattr(answer, "content", "")
        running = UploadJob.objects.get(pk=long_job)
        # on SQLite, the job committed what it had written, and let the request in
        assert (running.state, 0 < running.processed < ROWS) == ("running", True)
    finally:
        worker.join()
    run_worker()  # (a second upload's task, if the worker had finished first)
    assert [(job.state, job.inserted) for job in UploadJob.objects.order_by("created_at")] == [
        ("completed", ROWS),
        *([("completed", 1)] if request_ is other_upload else []),
    ]
    assert Contact.objects.count() == ROWS + (request_ is other_upload)
    if request_ is new_token:
        assert AuthToken.objects.filter(user__username="crm_push").count() == 2
    if request_ is dnc_entry:
        assert DncEntry.objects.filter(numeric__endswith="9123456789").count() == 1
    if request_ is staff_login:
        assert Session.objects.count() == sessions + 1
        manager.refresh_from_db()
        assert manager.last_login is not None
    if request_ is admin_change:
        assert Group.objects.filter(name="supervisors").exists()
        assert LogEntry.objects.filter(object_repr="supervisors").count() == 1
    if request_ is worker_beat:
        assert WorkerBeat.objects.filter(worker_id="beating-worker").exists()
    if request_ is config_load:
        assert Campaign.objects.filter(name="Collections", country="IN").exists()
    if request_ is plain_write:
        assert Group.objects.filter(name="dialers").exists()


class ProbingHasher(MD5PasswordHasher):
    """Notes, as it checks a password, whether a job would stand aside meanwhile."""

    def verify(self, password, encoded):
        PROBES.append(writers.others_waiting())
        return super().verify(password, encoded)


PROBES: list[bool] = []


@pytest.mark.parametrize("password", ["secret-pw", "wrong"])
def test_a_job_does_not_stand_aside_while_a_login_checks_its_password(password, manager, settings):
    """A login's writes go ahead of a job's, not the request around them: anyone may
    post to the login page, and a password check takes a while (PBKDF2). (On
    PostgreSQL nothing ever stands aside: there the login and its session are checked.)"""
    settings.PASSWORD_HASHERS = ["tests.test_lock_handover.ProbingHasher"]
    manager.set_password("secret-pw")
    manager.save()
    PROBES.clear()

    answer = Client().post("/accounts/login/", {"username": "crm_push", "password": password})

    assert answer.status_code == (302 if password == "secret-pw" else 200)
    assert PROBES == [False]
    assert Session.objects.exists() is (password == "secret-pw")
