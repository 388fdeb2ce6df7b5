"""Two uploads with overlapping numbers, processed by two worker processes at
once: each number is stored once, the other upload reports it as a duplicate,
and every row has exactly one outcome."""

import random
import subprocess
import sys

import orjson
import pytest
from django.db.models import Count
from rest_framework.test import APIClient

from contactload.models import Campaign, Contact, Role, RowResult, UploadJob
from contactload.tokens import issue_token
from tests.conftest import make_user
from tests.test_worker_process import worker_env

TAKEN = "contact with this numeric value is already exist in Sales campaign"


def run_workers_at_once(count: int) -> None:
    """``count`` real worker processes, started together, until the queue is empty."""
    workers = [
        subprocess.Popen(
            [sys.executable, "-m", "contactload.cli", "worker", "--batch"],
            env=worker_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for _ in range(count)
    ]
    for worker in workers:
        output, _ = worker.communicate(timeout=600)
        assert worker.returncode == 0, output[-2000:]


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_concurrent_jobs_with_overlapping_numbers_store_each_number_once():
    campaign = Campaign.objects.create(name="Sales")
    manager = make_user("crm_push", Role.MANAGER, [campaign])
    client = APIClient(HTTP_AUTHORIZATION=f"Token {issue_token(manager)}")
    shuffle = random.Random(7).shuffle
    sets = [list(range(0, 12_000)), list(range(6_000, 18_000))]
    job_ids = []
    for numbers in sets:
        shuffle(numbers)
        rows = [{"numeric": f"9{n:09d}"} for n in numbers]
        response = client.post(
            "/api/bulkphonebookupload/v1/",
            {"campaign": "Sales", "bulk_data": rows},
            format="json",
        )
        assert response.status_code == 200
        job_ids.append(response.json()["job_id"])

    run_workers_at_once(2)

    jobs = list(UploadJob.objects.filter(pk__in=job_ids))
    assert [job.state for job in jobs] == ["completed", "completed"], [job.error for job in jobs]
    assert all(job.inserted + job.rejected == job.total == 12_000 for job in jobs)
    assert Contact.objects.count() == 18_000
    assert not Contact.objects.values("numeric").annotate(n=Count("id")).filter(n__gt=1).exists()
    assert sum(job.inserted for job in jobs) == 18_000
    assert sum(job.rejected for job in jobs) == 6_000
    messages = {
        tuple(m for _h, _c, m in errors)
        for errors in RowResult.objects.values_list("errors", flat=True)
    }
    assert messages == {(TAKEN,)}
    assert RowResult.objects.count() == 6_000


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_eight_clients_pushing_overlapping_sets_at_once_store_exactly_the_union(live_server):
    from concurrent.futures import ThreadPoolExecutor

    from tests.test_idempotency import live_post

    campaign = Campaign.objects.create(name="Sales")
    token = issue_token(make_user("crm_push", Role.MANAGER, [campaign]))
    sets = [range(i * 1_500, i * 1_500 + 3_000) for i in range(8)]  # each overlaps the next
    bodies = [
        orjson.dumps(
            {"campaign": "Sales", "bulk_data": [{"numeric": f"9{n:09d}"} for n in numbers]}
        )
        for numbers in sets
    ]
    url = live_server.url + "/api/bulkphonebookupload/v1/"
    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(
            pool.map(lambda i: live_post(url, token, bodies[i], f"client-{i}"), range(8))
        )
    assert [status for status, _body in answers] == [200] * 8

    run_workers_at_once(2)

    union = {f"+919{n:09d}" for numbers in sets for n in numbers}
    jobs = list(UploadJob.objects.all())
    assert len(jobs) == 8
    assert all(job.state == "completed" and job.inserted + job.rejected == 3_000 for job in jobs)
    assert set(Contact.objects.values_list("numeric", flat=True)) == union
    assert Contact.objects.count() == len(union) == sum(job.inserted for job in jobs)
    assert sum(job.rejected for job in jobs) == 8 * 3_000 - len(union)
    messages = {
        m for errors in RowResult.objects.values_list("errors", flat=True) for *_x, m in errors
    }
    assert messages == {TAKEN}
