"""CONTRACT 5.1 through HTTP and the worker: CSV uploads as a multipart form and as
a text/csv body, the same whole-request checks and messages as JSON, and CSV's
own troubles (BOM, quoting, ragged lines, bad bytes) answered, never crashing."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import override_settings

from contactload.ingest.submit import submit_csv_upload
from contactload.models import Contact, Phonebook, RowResult, UploadChunk, UploadJob
from tests.conftest import run_worker

URL = "/api/bulkphonebookupload/v1/"
CSV = (
    "numeric,user,customer_info:customer_id,customer_info:name\r\n"
    '9876543210,agent1,C-1,"Rao, Asha"\r\n'
    '9876543211,,C-2,"two\nlines"\r\n'
    "12,agent1,C-3,bad number\r\n"
)
HEADERS_MISMATCH = (
    "Headers are not matching with Campaign CRM Fields. Please refer to the sample CSV"
)


@pytest.fixture
def post_form(api, django_capture_on_commit_callbacks):
    def post(content: bytes | str, **fields):
        data = dict(fields)
        if content is not None:
            raw = content.encode() if isinstance(content, str) else content
            data["file"] = SimpleUploadedFile("leads.csv", raw, content_type="text/csv")
        with django_capture_on_commit_callbacks(execute=True):
            return api.post(URL, data, format="multipart")

    return post


@pytest.fixture
def post_csv(api, django_capture_on_commit_callbacks):
    def post(content: bytes | str, query: str):
        raw = content.encode() if isinstance(content, str) else content
        with django_capture_on_commit_callbacks(execute=True):
            return api.generic("POST", f"{URL}?{query}", raw, content_type="text/csv")

    return post


def status(api, response) -> dict:
    return api.get(f"/api/bulkphonebookupload/status/{response.json()['job_id']}/").json()


def nothing_written() -> bool:
    return not (
        UploadJob.objects.exists() or Phonebook.objects.exists() or UploadChunk.objects.exists()
    )


def test_multipart_csv_upload_is_processed_like_json(api, post_form, agents):
    response = post_form(CSV, campaign="Sales", action_type="insert", reference_field="")
    assert response.status_code == 200
    job = UploadJob.objects.get()
    assert response.json() == {
        "success": f"Reference/Phonebook Name:{job.phonebook.name}",
        "job_id": job.pk,
    }
    assert (job.source, job.total, job.headers[0]) == ("csv", 3, "numeric")
    run_worker()
    body = status(api, response)
    assert body["status"] == "Invalid Data"
    assert body["improper_data"] == [
        {
            "numeric": "12",
            "user": "agent1",
            "customer_info:customer_id": "C-3",
            "customer_info:name": "bad number",
            "description": "Enter Valid Number",
            "row": 3,
            "error_codes": {"numeric": ["invalid_number"]},
        }
    ]
    stored = {c.uniqueid: c for c in Contact.objects.all()}
    assert set(stored) == {"C-1", "C-2"}
    assert stored["C-1"].customer_raw_data["customer_info"]["name"] == "Rao, Asha"
    assert stored["C-2"].customer_raw_data["customer_info"]["name"] == "two\nlines"
    assert stored["C-1"].user == agents[0]
    assert stored["C-2"].user is None


def test_text_csv_body_takes_options_from_the_query(api, post_csv, agents):
    response = post_csv("\ufeff" + CSV, "campaign=Sales")
    assert response.status_code == 200
    run_worker()
    assert status(api, response)["inserted"] == 2
    assert UploadJob.objects.get().headers[0] == "numeric"  # the BOM is not part of it


def test_csv_update_answers_201_and_updates(api, post_form, post_csv, agents):
    post_form(CSV, campaign="Sales")
    run_worker()
    update = "numeric,user\n9876543210,agent2\n"
    response = post_csv(update, "campaign=Sales&action_type=update&reference_field=numeric")
    assert response.status_code == 201
    run_worker()
    assert status(api, response)["updated"] == 1
    assert Contact.objects.get(uniqueid="C-1").user == agents[1]


def test_ragged_lines_are_rejected_rows_not_crashes(api, post_csv, agents):
    content = "numeric,customer_info:customer_id\n9876543210,A\n9876543211\n9876543212,C,extra\n"
    response = post_csv(content, "campaign=Sales")
    assert response.status_code == 200
    run_worker()
    body = status(api, response)
    items = {item["row"]: item for item in body["improper_data"]}
    assert items[2]["description"] == "Expected 2 values, found 1"
    assert items[2]["error_codes"] == {"line": ["ragged_row"]}
    assert items[3]["description"] == "Expected 2 values, found 3"
    assert items[3]["_extra"] == ["extra"]
    assert list(Contact.objects.values_list("uniqueid", flat=True)) == ["A"]


def test_blank_lines_are_not_rows(api, post_csv, campaign):
    response = post_csv("numeric\n\n9876543210\n\n9876543211\n\n", "campaign=Sales")
    assert response.status_code == 200
    run_worker()
    assert (status(api, response)["total"], Contact.objects.count()) == (2, 2)


@pytest.mark.parametrize(
    ("content", "fields", "message"),
    [
        (CSV, {}, "Invalid request structure"),
        (None, {"campaign": "Sales"}, "Invalid request structure"),
        ("", {"campaign": "Sales"}, "Invalid request structure"),
        ("numeric\n", {"campaign": "Sales"}, "Invalid request structure"),
        (CSV, {"campaign": "Sales", "action_type": "merge"}, "Invalid action_type: merge"),
        (
            CSV,
            {"campaign": "Sales", "reference_field": "numeric"},
            "Insert operation cannot have reference_field.",
        ),
        (
            CSV,
            {"campaign": "Sales", "action_type": "update"},
            "reference_field is missing in the request!",
        ),
        (CSV, {"campaign": "Nope"}, "Campaign is not Present"),
        (
            "user,first_name\nagent1,x\n",
            {"campaign": "Sales", "action_type": "update", "reference_field": "numeric"},
            "reference_field - numeric is missing in some bulk_data item(s)",
        ),
        ("numeric,colour\n9876543210,red\n", {"campaign": "Sales"}, HEADERS_MISMATCH),
        ("user\nagent1\n", {"campaign": "Sales"}, HEADERS_MISMATCH),
        ("numeric,numeric\n1,2\n", {"campaign": "Sales"}, HEADERS_MISMATCH),
        (
            "numeric\n9876543210\n",
            {"campaign": "Sales", "action_type": "update", "reference_field": "numeric"},
            "Please provide the columns data that you want to update along with the "
            "reference_field",
        ),
    ],
)
def test_csv_whole_request_errors_match_json(post_form, campaign, content, fields, message):
    response = post_form(content, **fields)
    assert response.status_code == 400
    assert response.json() == {"errors": message}
    assert nothing_written()


def test_csv_that_is_not_utf8_is_invalid(post_csv, campaign):
    response = post_csv(b"numeric\n98765\xff43210\n", "campaign=Sales")
    assert response.status_code == 400
    assert response.json()["errors"].startswith("Invalid JSON: the CSV is not UTF-8")
    assert nothing_written()


@override_settings(CONTACTLOAD_MAX_CSV_ROWS=3)
def test_csv_row_limit(post_csv, campaign):
    content = "numeric\n" + "".join(f"98765432{i:02d}\n" for i in range(5))
    response = post_csv(content, "campaign=Sales")
    assert response.status_code == 413
    assert response.json() == {"errors": "Too many rows: 5 (limit 3)"}
    assert nothing_written()


@override_settings(CONTACTLOAD_MAX_CSV_BYTES=50, CONTACTLOAD_MAX_BODY_BYTES=10)
@pytest.mark.parametrize("kind", ["form", "csv"])
def test_csv_body_limit_is_its_own(post_form, post_csv, campaign, kind):
    content = "numeric\n" + "9876543210\n" * 10
    if kind == "form":
        response = post_form(content, campaign="Sales")
    else:
        response = post_csv(content, "campaign=Sales")
    assert response.status_code == 413
    assert response.json() == {"errors": "Request body too large (limit 50 bytes)"}
    assert nothing_written()


def test_large_csv_is_stored_in_chunks_and_fully_processed(api, post_csv, campaign, settings):
    settings.CONTACTLOAD_CHUNK_ROWS = 1000
    content = "numeric\n" + "".join(f"9{i:09d}\n" for i in range(12_345))
    response = post_csv(content, "campaign=Sales")
    assert response.status_code == 200
    chunks = list(UploadChunk.objects.values_list("first_row", "rows"))
    assert chunks[0] == (0, 1000)
    assert chunks[-1] == (12_000, 345)
    assert len(chunks) == 13
    run_worker()
    body = status(api, response)
    assert (body["status"], body["inserted"]) == ("Completed", 12_345)
    assert not RowResult.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_csv_is_read_and_packed_before_its_transaction_begins(manager, campaign, settings):
    """The job's transaction only stores the packed chunks: on SQLite a running job
    waits for it, and it once lasted as long as reading the whole file."""
    settings.CONTACTLOAD_CHUNK_ROWS = 10
    in_transaction = []

    def lines():
        yield b"numeric\r\n"
        for i in range(25):
            in_transaction.append(connection.in_atomic_block)
            yield f"98765432{i:02d}\r\n".encode()

    status_code, body = submit_csv_upload(user=manager, fields={"campaign": "Sales"}, lines=lines())

    assert status_code == 200
    assert in_transaction == [False] * 25
    job = UploadJob.objects.get(pk=body["job_id"])
    assert job.total == 25
    assert list(job.chunks.values_list("first_row", "rows")) == [(0, 10), (10, 10), (20, 5)]
    run_worker()
    assert Contact.objects.filter(phonebook=job.phonebook).count() == 25
