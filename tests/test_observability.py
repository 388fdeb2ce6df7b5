"""Observability: /metrics moves with uploads, rows and the queue, and is closed to
strangers; logs are JSON events that carry the job id."""

import json
import logging

import pytest
from django.db import connection
from django.test import Client
from prometheus_client.parser import text_string_to_metric_families

from contactload.models import Contact, UploadChunk, UploadJob
from tests.conftest import run_worker

BODY = {"campaign": "Sales", "bulk_data": [{"numeric": "9876543210"}, {"numeric": "12"}]}


def scrape(client=None) -> dict[tuple, float]:
    response = (client or Client()).get("/metrics")
    assert response.status_code == 200
    samples = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            samples[(sample.name, *sorted(sample.labels.items()))] = sample.value
    return samples


def value(samples, name: str, **labels) -> float:
    return samples.get((name, *sorted(labels.items())), 0.0)


def test_metrics_move_with_an_upload_its_rows_and_the_queue(upload, campaign):
    before = scrape()
    assert upload(BODY).status_code == 200
    assert upload({"campaign": "Nope", "bulk_data": [{"numeric": "1"}]}).status_code == 400
    queued = scrape()
    assert value(queued, "contactload_queue_depth", state="queued") == 1
    assert value(queued, "contactload_queue_oldest_age_seconds") >= 0
    run_worker()
    after = scrape()
    delta = lambda name, **labels: value(after, name, **labels) - value(before, name, **labels)  # noqa: E731
    assert delta("contactload_uploads_total", outcome="accepted", reason="") == 1
    assert delta("contactload_uploads_total", outcome="refused", reason="campaign_not_present") == 1
    assert delta("contactload_rows_total", outcome="inserted") == 1
    assert delta("contactload_rows_total", outcome="rejected") == 1
    assert delta("contactload_chunk_seconds_count") == 1
    assert delta("contactload_job_seconds_count", outcome="completed") == 1
    assert value(after, "contactload_queue_depth", state="queued") == 0


@pytest.mark.django_db(transaction=True)  # the worker's threads read the job
def test_rows_count_once_they_are_committed(upload, campaign, settings):
    """On SQLite, chunks commit a few at a time: a group rolled back (here its second
    chunk cannot be read) leaves no row counted, as it leaves none stored."""
    settings.CONTACTLOAD_CHUNK_ROWS = 3
    settings.CONTACTLOAD_SQLITE_COMMIT_ROWS = 6
    rows = [{"numeric": f"98765432{i:02d}"} for i in range(6)]
    job_id = upload({"campaign": "Sales", "bulk_data": rows}).json()["job_id"]
    UploadChunk.objects.filter(job_id=job_id, first_row=3).update(data=b"not a chunk")
    before = scrape()

    run_worker()

    stored = Contact.objects.filter(phonebook__job=job_id).count()
    assert stored == (0 if connection.vendor == "sqlite" else 3)
    assert UploadJob.objects.get(pk=job_id).processed == stored
    inserted = value(scrape(), "contactload_rows_total", outcome="inserted")
    assert inserted - value(before, "contactload_rows_total", outcome="inserted") == stored


def test_metrics_are_closed_to_strangers(db, settings):
    settings.CONTACTLOAD_METRICS_ALLOW = ["10.0.0.0/8"]
    settings.CONTACTLOAD_METRICS_TOKEN = "scrape-secret"
    assert Client().get("/metrics").status_code == 403  # the test client is 127.0.0.1
    assert Client(HTTP_AUTHORIZATION="Bearer wrong").get("/metrics").status_code == 403
    assert Client(HTTP_AUTHORIZATION="Bearer scrape-secret").get("/metrics").status_code == 200
    assert Client(REMOTE_ADDR="10.1.2.3").get("/metrics").status_code == 200


@pytest.fixture
def json_records(caplog):
    """The log records, and their JSON rendering by the configured formatter."""
    from django.conf import settings as django_settings
    from pythonjsonlogger.json import JsonFormatter

    options = django_settings.LOGGING["formatters"]["json"]
    formatter = JsonFormatter(options["fmt"], rename_fields=options["rename_fields"])
    caplog.set_level(logging.INFO)
    return lambda: [json.loads(formatter.format(record)) for record in caplog.records]


def test_each_request_and_job_state_change_is_one_json_event_with_the_job_id(
    upload, api, campaign, json_records
):
    job_id = upload(BODY).json()["job_id"]
    run_worker()
    api.get(f"/api/bulkphonebookupload/status/{job_id}/")
    events = json_records()
    requests = [e for e in events if e.get("event") == "request"]
    assert [(e["method"], e["status"], e["job_id"]) for e in requests] == [
        ("POST", 200, job_id),
        ("GET", 200, job_id),
    ]
    assert all(e["logger"] == "contactload.request" and e["duration_ms"] >= 0 for e in requests)
    assert requests[0]["user"] == "crm_push"
    done = [e for e in events if e.get("event") == "job completed"]
    assert len(done) == 1
    assert done[0]["job_id"] == job_id
    assert (done[0]["campaign"], done[0]["inserted"], done[0]["rejected"]) == ("Sales", 1, 1)
    assert done[0]["level"] == "INFO"
    assert any(e.get("event") == "job running" and e["job_id"] == job_id for e in events)
