"""Shared fixtures: a campaign shaped like the demo, its people, and HTTP clients.

The suite runs unchanged on SQLite (default) and on PostgreSQL (DATABASE_URL)."""

import os

import pytest
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from contactload.models import Campaign, CrmField, Membership, Profile, Role
from contactload.tokens import issue_token


def pytest_report_header(config):
    from django.conf import settings

    return f"database: {settings.DATABASES['default']['ENGINE']}"


@pytest.fixture(autouse=True, scope="session")
def _postgres_really_runs(django_db_setup, django_db_blocker):
    """Under CI a run pointed at PostgreSQL must really be on PostgreSQL."""
    from django.db import connection

    if os.environ.get("DATABASE_URL", "").startswith("postgres"):
        assert connection.vendor == "postgresql"


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # PBKDF2's production cost (~0.4 s a hash) would dominate the suite.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def make_user(username: str, role: str, campaigns=(), password: str = "secret-pw"):
    user = get_user_model().objects.create_user(username=username, password=password)
    Profile.objects.create(user=user, role=role)
    for campaign in campaigns:
        Membership.objects.create(campaign=campaign, user=user)
    return user


@pytest.fixture
def campaign(db):
    """``Sales``: country IN, rejects duplicates, one unique CRM field and one of each type."""
    sales = Campaign.objects.create(name="Sales", country="IN")
    fields = [
        ("customer_info", "customer_id", "text", 30, [], True),
        ("customer_info", "name", "text", 100, [], False),
        ("customer_info", "dob", "date", None, [], False),
        ("loan", "amount", "integer", None, [], False),
        ("loan", "rate", "float", None, [], False),
        ("loan", "product", "choice", None, ["home", "car", "personal"], False),
        ("loan", "due_at", "datetime", None, [], False),
        ("loan", "slot", "time", None, [], False),
        ("loan", "notes", "textarea", 20, [], False),
        ("contact", "office_email", "email", None, [], False),
        ("contact", "office_phone", "phone", None, [], False),
    ]
    for position, (section, name, type_, size, choices, unique) in enumerate(fields):
        CrmField.objects.create(
            campaign=sales,
            section=section,
            name=name,
            type=type_,
            size=size,
            choices=choices,
            unique=unique,
            position=position,
        )
    return sales


@pytest.fixture
def manager(campaign):
    return make_user("crm_push", Role.MANAGER, [campaign])


@pytest.fixture
def agents(campaign):
    return [make_user(f"agent{i}", Role.AGENT, [campaign]) for i in (1, 2)]


@pytest.fixture
def api(manager):
    """An API client authenticated as the Sales manager."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {issue_token(manager)}")
    return client


def batch_worker(worker_class, worker_id: str):
    """A django-tasks-db worker (of ``worker_class``) that runs the default queue's
    tasks until none is left, without pauses."""
    return worker_class(
        queue_names=["default"],
        interval=0,
        batch=True,
        backend_name="default",
        startup_delay=False,
        max_tasks=None,
        worker_id=worker_id,
        excluded_queue_names=[],
    )


def run_worker() -> None:
    """Run queued tasks with the real django-tasks-db worker's ``run_task``.

    The worker's own loop closes connections that are not in autocommit mode,
    which a test transaction never is; tests that need the whole loop run
    ``db_worker`` as a real process (see test_worker_process.py)."""
    from django.db import transaction
    from django.test import TestCase
    from django_tasks_db.management.commands.db_worker import Worker
    from django_tasks_db.models import DBTaskResult

    worker = batch_worker(Worker, "pytest")
    while True:
        # A run that fails queues its retry on commit: run those callbacks too.
        with TestCase.captureOnCommitCallbacks(execute=True):
            with transaction.atomic():
                task = DBTaskResult.objects.ready().get_locked()
                if task is None:
                    return
                task.claim(worker.worker_id)
            worker.run_task(task)


@pytest.fixture
def upload(api, django_capture_on_commit_callbacks):
    """POST a JSON upload as the manager (enqueueing on commit, as in production)."""

    def post(payload, client=None, **extra):
        with django_capture_on_commit_callbacks(execute=True):
            return (client or api).post(
                "/api/bulkphonebookupload/v1/", payload, format="json", **extra
            )

    return post


@pytest.fixture
def process(upload, api):
    """Upload, run the worker, return the status body."""

    def run(payload, **extra):
        response = upload(payload, **extra)
        assert response.status_code in (200, 201), response.content
        run_worker()
        status = api.get(f"/api/bulkphonebookupload/status/{response.json()['job_id']}/")
        assert status.status_code == 200
        return status.json()

    return run
