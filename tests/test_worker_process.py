"""The whole path with real processes: an HTTP upload of 20,000 mixed rows, the
``contactload worker`` command in its own process, and every row ending with
exactly one outcome."""

import os
import subprocess
import sys

import pytest
from django.db import connection
from rest_framework.test import APIClient

from contactload.models import Campaign, Contact, CrmField, DncEntry, Role, RowResult, UploadJob
from contactload.tokens import issue_token
from tests.conftest import make_user

ROWS = 20_000


def database_url() -> str:
    """The URL of the test database, for a process started by the test."""
    params = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{params['NAME']}"
    return f"postgres://{params['USER']}@{params['HOST']}:{params['PORT']}/{params['NAME']}"


def worker_env() -> dict[str, str]:
    return {**os.environ, "DATABASE_URL": database_url()}


def run_worker_process() -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "contactload.cli", "worker", "--batch"],
        env=worker_env(),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def mixed_rows() -> tuple[list[dict], dict[int, str]]:
    """20,000 rows and, by 1-based position, the message each bad row must get."""
    rows, bad = [], {}
    for i in range(ROWS):
        position = i + 1
        row = {
            "numeric": f"9{i:09d}",
            "user": "agent1",
            "email": f"lead{i}@example.com",
            "customer_info:customer_id": f"C{i}",
        }
        kind = i % 50
        if kind == 1:
            row["numeric"] = "12345"
            bad[position] = "Enter Valid Number"
        elif kind == 2:
            row["numeric"] = f"9{i - 2:09d}"
            bad[position] = "This row is duplicated in file"
        elif kind == 3:
            row["email"] = "nope"
            bad[position] = "Enter Valid Email Address"
        elif kind == 4:
            row["user"] = "ghost"
            bad[position] = "This user is not present in our database"
        elif kind == 5:
            row["numeric"] = f"+91 {row['numeric'][:5]} {row['numeric'][5:]}"
            bad[position] = "This number is blocked globally"
        elif kind == 6:
            bad[position] = "contact with this numeric value is already exist in Sales campaign"
        rows.append(row)
    return rows, bad


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_20000_rows_through_the_real_worker_each_get_one_outcome():
    campaign = Campaign.objects.create(name="Sales")
    CrmField.objects.create(
        campaign=campaign, section="customer_info", name="customer_id", size=30, unique=True
    )
    manager = make_user("crm_push", Role.MANAGER, [campaign])
    make_user("agent1", Role.AGENT, [campaign])
    rows, bad = mixed_rows()
    earlier = make_user("earlier", Role.MANAGER, [campaign])
    for position, message in bad.items():
        number = "+91" + rows[position - 1]["numeric"].replace(" ", "")[-10:]
        if message.startswith("This number is blocked"):
            DncEntry.objects.create(numeric=number)
        elif message.startswith("contact with this numeric"):
            Contact.objects.create(
                campaign=campaign,
                phonebook=campaign.phonebooks.create(name=f"old-{position}", created_by=earlier),
                numeric=number,
                dedupe_key=number,
            )
    existing = Contact.objects.count()

    client = APIClient(HTTP_AUTHORIZATION=f"Token {issue_token(manager)}")
    response = client.post(
        "/api/bulkphonebookupload/v1/", {"campaign": "Sales", "bulk_data": rows}, format="json"
    )
    assert response.status_code == 200, response.content[:300]
    job_id = response.json()["job_id"]

    finished = run_worker_process()
    assert finished.returncode == 0, finished.stderr[-2000:]

    job = UploadJob.objects.get(pk=job_id)
    assert job.state == "completed"
    assert (job.total, job.processed) == (ROWS, ROWS)
    assert job.inserted + job.rejected == ROWS
    assert job.rejected == len(bad)
    stored = Contact.objects.filter(phonebook=job.phonebook)
    assert stored.count() == job.inserted == ROWS - len(bad)
    assert Contact.objects.count() == existing + job.inserted
    results = dict(RowResult.objects.filter(job=job).values_list("row", "errors"))
    assert set(results) == set(bad)
    for position, errors in results.items():
        assert [message for _h, _c, message in errors] == [bad[position]], position
    good_numbers = {
        "+91" + row["numeric"] for position, row in enumerate(rows, 1) if position not in bad
    }
    assert set(stored.values_list("numeric", flat=True)) == good_numbers

    status = client.get(f"/api/bulkphonebookupload/status/{job_id}/").json()
    assert status["status"] == "Invalid Data"
    assert (status["inserted"], status["rejected"], status["progress"]) == (
        ROWS - len(bad),
        len(bad),
        100,
    )


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_20000_updates_through_the_real_worker_each_get_one_outcome():
    campaign = Campaign.objects.create(name="Sales")
    CrmField.objects.create(campaign=campaign, section="loan", name="amount", type="integer")
    manager = make_user("crm_push", Role.MANAGER, [campaign])
    make_user("agent1", Role.AGENT, [campaign])
    client = APIClient(HTTP_AUTHORIZATION=f"Token {issue_token(manager)}")
    seed = [{"numeric": f"9{i:09d}", "loan:amount": "0"} for i in range(ROWS)]
    inserted = client.post(
        "/api/bulkphonebookupload/v1/", {"campaign": "Sales", "bulk_data": seed}, format="json"
    )
    assert inserted.status_code == 200
    assert run_worker_process().returncode == 0

    rows, bad = [], {}
    for i in range(ROWS):
        row = {"numeric": f"9{i:09d}", "user": "agent1", "loan:amount": str(i)}
        kind = i % 50
        if kind == 1:
            row["numeric"] = f"8{i:09d}"
            bad[i + 1] = "the numeric is not exist in campaign, please insert first"
        elif kind == 2:
            row["numeric"] = ""
            bad[i + 1] = "the numeric should not be blank"
        elif kind == 3:
            row["numeric"] = f"9{i - 3:09d}"
            bad[i + 1] = "This row is duplicated in file"
        elif kind == 4:
            row["loan:amount"] = "many"
            bad[i + 1] = "Expected  many in integer format"
        rows.append(row)
    payload = {
        "campaign": "Sales",
        "action_type": "update",
        "reference_field": "numeric",
        "bulk_data": rows,
    }
    response = client.post("/api/bulkphonebookupload/v1/", payload, format="json")
    assert response.status_code == 201
    finished = run_worker_process()
    assert finished.returncode == 0, finished.stderr[-2000:]

    job = UploadJob.objects.get(pk=response.json()["job_id"])
    assert job.state == "completed"
    assert (job.updated, job.rejected, job.inserted) == (ROWS - len(bad), len(bad), 0)
    results = dict(RowResult.objects.filter(job=job).values_list("row", "errors"))
    assert {row: [m for _h, _c, m in errors] for row, errors in results.items()} == {
        row: [message] for row, message in bad.items()
    }
    assert Contact.objects.count() == ROWS
    assert Contact.objects.filter(user__username="agent1").count() == ROWS - len(bad)
    amounts = dict(Contact.objects.values_list("numeric", "customer_raw_data"))
    for position, row in enumerate(rows, start=1):
        if position not in bad:
            assert amounts["+91" + row["numeric"]]["loan"]["amount"] == int(row["loan:amount"])
