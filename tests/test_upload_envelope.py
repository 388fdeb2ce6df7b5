"""CONTRACT 2.2-2.3 through HTTP: every whole-request check, exact bodies and
statuses, and that a refused request writes nothing."""

import pytest
from django.test import override_settings
from django_tasks_db.models import DBTaskResult

from contactload.models import Phonebook, UploadChunk, UploadJob

URL = "/api/bulkphonebookupload/v1/"
ROW = {"numeric": "9876543210", "customer_info:customer_id": "C-1"}


def nothing_written():
    return not (
        UploadJob.objects.exists()
        or Phonebook.objects.exists()
        or UploadChunk.objects.exists()
        or DBTaskResult.objects.exists()
    )


def post_raw(api, body: bytes, content_type="application/json"):
    return api.generic("POST", URL, body, content_type=content_type)


def test_insert_success_body_and_one_job_one_phonebook_one_task(upload, campaign):
    response = upload({"campaign": "Sales", "bulk_data": [ROW, {**ROW, "numeric": "9876543211"}]})
    assert response.status_code == 200
    body = response.json()
    job = UploadJob.objects.get()
    assert body == {"success": f"Reference/Phonebook Name:{job.phonebook.name}", "job_id": job.pk}
    assert job.state == "queued"
    assert job.total == 2
    assert job.campaign == campaign
    assert Phonebook.objects.get().campaign == campaign
    task = DBTaskResult.objects.get()
    assert task.args_kwargs["args"] == [job.pk]


def test_job_ids_and_phonebook_names_are_unique_and_opaque(upload, campaign):
    bodies = [upload({"campaign": "Sales", "bulk_data": [ROW]}).json() for _ in range(5)]
    ids = {body["job_id"] for body in bodies}
    assert len(ids) == 5
    assert all(len(job_id) >= 20 and not job_id.isdigit() for job_id in ids)
    assert len({body["success"] for body in bodies}) == 5


def test_explicit_insert_action_type_is_accepted(upload, campaign):
    response = upload({"campaign": "Sales", "action_type": "insert", "bulk_data": [ROW]})
    assert response.status_code == 200


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"{not json", "Invalid JSON: "),
        (b"", "Invalid JSON: "),
        (b'{"campaign": "Sales", "bulk_data": [', "Invalid JSON: "),
    ],
)
def test_row1_invalid_json(api, campaign, body, message):
    response = post_raw(api, body)
    assert response.status_code == 400
    assert response.json()["errors"].startswith(message)
    assert len(response.json()["errors"]) > len(message)  # the parser's detail follows
    assert nothing_written()


@pytest.mark.parametrize(
    "payload",
    [
        [],
        "text",
        {"bulk_data": [ROW]},
        {"campaign": "Sales"},
        {"campaign": "", "bulk_data": [ROW]},
        {"campaign": 5, "bulk_data": [ROW]},
        {"campaign": "Sales", "bulk_data": []},
        {"campaign": "Sales", "bulk_data": {"numeric": "1"}},
        {"campaign": "Sales", "bulk_data": [ROW, "row"]},
        {"campaign": "Sales", "bulk_data": [[1, 2]]},
        {"campaign": "Sales", "bulk_data": [None]},
    ],
)
def test_row2_invalid_structure(api, campaign, payload):
    response = api.post(URL, payload, format="json")
    assert response.status_code == 400
    assert response.json() == {"errors": "Invalid request structure"}
    assert nothing_written()


@pytest.mark.parametrize(("value", "shown"), [("delete", "delete"), ("Insert", "Insert"), (7, "7")])
def test_row3_invalid_action_type(api, campaign, value, shown):
    response = api.post(
        URL, {"campaign": "Sales", "action_type": value, "bulk_data": [ROW]}, format="json"
    )
    assert response.status_code == 400
    assert response.json() == {"errors": f"Invalid action_type: {shown}"}
    assert nothing_written()


@pytest.mark.parametrize("reference", ["numeric", "customer_info:customer_id"])
def test_row4_insert_with_reference_field(api, campaign, reference):
    """Flexydial's documented scenario: payloads 1 and 2."""
    response = api.post(
        URL, {"campaign": "Sales", "reference_field": reference, "bulk_data": [ROW]}, format="json"
    )
    assert response.status_code == 400
    assert response.json() == {"errors": "Insert operation cannot have reference_field."}
    assert nothing_written()


def test_row5_update_without_reference_field(api, campaign):
    response = api.post(
        URL, {"campaign": "Sales", "action_type": "update", "bulk_data": [ROW]}, format="json"
    )
    assert response.status_code == 400
    assert response.json() == {"errors": "reference_field is missing in the request!"}
    assert nothing_written()


def test_row6_campaign_not_present(api, campaign):
    response = api.post(URL, {"campaign": "Nope", "bulk_data": [ROW]}, format="json")
    assert response.status_code == 400
    assert response.json() == {"errors": "Campaign is not Present"}
    assert nothing_written()


def test_row6_comes_before_row9(api, campaign):
    response = api.post(
        URL, {"campaign": "Nope", "bulk_data": [ROW, {"numeric": "1"}]}, format="json"
    )
    assert response.json() == {"errors": "Campaign is not Present"}


def test_row8_update_reference_missing_in_some_rows(api, campaign):
    payload = {
        "campaign": "Sales",
        "action_type": "update",
        "reference_field": "numeric",
        "bulk_data": [{"numeric": "9876543210", "user": ""}, {"user": ""}],
    }
    response = api.post(URL, payload, format="json")
    assert response.status_code == 400
    assert response.json() == {
        "errors": "reference_field - numeric is missing in some bulk_data item(s)"
    }
    assert nothing_written()


def test_row9_rows_not_uniform(api, campaign):
    payload = {"campaign": "Sales", "bulk_data": [ROW, {"numeric": "9876543211"}]}
    response = api.post(URL, payload, format="json")
    assert response.status_code == 400
    assert response.json() == {"errors": "All items in bulk_data must have uniform structure"}
    assert nothing_written()


HEADERS_MISMATCH = (
    "Headers are not matching with Campaign CRM Fields. Please refer to the sample CSV"
)


@pytest.mark.parametrize(
    "rows",
    [
        [{"numeric": "9876543210", "customer_info:unknown": "x"}],
        [{"numeric": "9876543210", "Numeric": "x"}],
        [{"user": "agent1", "customer_info:customer_id": "C-1"}],  # insert without numeric
    ],
)
def test_row10_headers_not_matching(api, campaign, rows):
    response = api.post(URL, {"campaign": "Sales", "bulk_data": rows}, format="json")
    assert response.status_code == 400
    assert response.json() == {"errors": HEADERS_MISMATCH}
    assert nothing_written()


def test_row10_update_reference_not_a_crm_field(api, campaign):
    payload = {
        "campaign": "Sales",
        "action_type": "update",
        "reference_field": "email",
        "bulk_data": [{"email": "a@b.co", "user": ""}],
    }
    response = api.post(URL, payload, format="json")
    assert response.status_code == 400
    assert response.json() == {"errors": HEADERS_MISMATCH}


def test_row11_update_rows_with_only_the_reference(api, campaign):
    payload = {
        "campaign": "Sales",
        "action_type": "update",
        "reference_field": "numeric",
        "bulk_data": [{"numeric": "9876543210"}],
    }
    response = api.post(URL, payload, format="json")
    assert response.status_code == 400
    assert response.json() == {
        "errors": "Please provide the columns data that you want to update along with the "
        "reference_field"
    }
    assert nothing_written()


@override_settings(CONTACTLOAD_MAX_ROWS=3)
def test_row12_too_many_rows(api, campaign):
    rows = [{"numeric": f"987654321{i}"} for i in range(4)]
    response = api.post(URL, {"campaign": "Sales", "bulk_data": rows}, format="json")
    assert response.status_code == 413
    assert response.json() == {"errors": "Too many rows: 4 (limit 3)"}
    assert nothing_written()


@override_settings(CONTACTLOAD_MAX_BODY_BYTES=1000)
def test_row12_body_too_large_is_refused_from_its_announced_length(api, campaign):
    rows = [{"numeric": f"98765{i:05d}"} for i in range(100)]
    response = api.post(URL, {"campaign": "Sales", "bulk_data": rows}, format="json")
    assert response.status_code == 413
    assert response.json() == {"errors": "Request body too large (limit 1000 bytes)"}
    assert nothing_written()


def test_uploads_larger_than_djangos_default_cap_are_accepted(upload, campaign):
    rows = [{"numeric": f"98{i:08d}", "customer_info:customer_id": f"C-{i}"} for i in range(60_000)]
    response = upload({"campaign": "Sales", "bulk_data": rows})
    assert response.status_code == 200, response.content[:200]
    assert UploadJob.objects.get().total == 60_000


@override_settings(CONTACTLOAD_FLEXYDIAL_STATUS_CODES=True)
@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"campaign": "Nope", "bulk_data": [ROW]}, "Campaign is not Present"),
        ({"bulk_data": [ROW]}, "Invalid request structure"),
        ({"campaign": "Sales", "bulk_data": [{"x": "1"}]}, HEADERS_MISMATCH),
    ],
)
def test_flexydial_status_codes_switch_answers_500(api, campaign, payload, message):
    response = api.post(URL, payload, format="json")
    assert response.status_code == 500
    assert response.json() == {"errors": message}


@override_settings(CONTACTLOAD_FLEXYDIAL_STATUS_CODES=True)
def test_flexydial_switch_leaves_success_alone(upload, campaign):
    assert upload({"campaign": "Sales", "bulk_data": [ROW]}).status_code == 200
