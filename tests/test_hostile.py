"""Hostile and broken input (issue: nothing lost, nothing doubled): every kind of
garbage gets the documented 4xx or a rejected row with a clear message, never a
5xx, never a stuck job; and the abuse limits answer 429 with Retry-After."""

import os
import subprocess
import sys

import orjson
import pytest
from django.urls import get_resolver
from knox.crypto import hash_token
from rest_framework.test import APIClient

from contactload.models import Contact, Phonebook, RowResult, UploadChunk, UploadJob
from contactload.tokens import issue_token
from tests.conftest import make_user

URL = "/api/bulkphonebookupload/v1/"
HEADERS_MISMATCH = (
    "Headers are not matching with Campaign CRM Fields. Please refer to the sample CSV"
)


def nothing_written() -> bool:
    return not (
        UploadJob.objects.exists() or Phonebook.objects.exists() or UploadChunk.objects.exists()
    )


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        (b"\xff\xfe{}", 400, "Invalid JSON: "),
        (b'{"campaign": "Sales", "bulk_data": [{"numeric": "\xff"}]}', 400, "Invalid JSON: "),
        (b"[" * 100_000 + b"]" * 100_000, 400, "Invalid JSON: "),
        (b'{"a": ' * 5000 + b"1" + b"}" * 5000, 400, "Invalid JSON: "),
        (b"123456789012345678901234567890", 400, "Invalid request structure"),
        (b"null", 400, "Invalid request structure"),
        (b'"text"', 400, "Invalid request structure"),
        (
            b'{"campaign": {"$ne": 1}, "bulk_data": [{"numeric": "1"}]}',
            400,
            "Invalid request structure",
        ),
        (b'{"campaign": "Sales", "bulk_data": {"numeric": "1"}}', 400, "Invalid request structure"),
        (b'{"campaign": "Sales", "bulk_data": [null]}', 400, "Invalid request structure"),
        (b'{"campaign": "Sales", "bulk_data": [["numeric"]]}', 400, "Invalid request structure"),
        (b'{"campaign": "Sales", "bulk_data": ["9876543210"]}', 400, "Invalid request structure"),
        (b'{"campaign": "Sales", "bulk_data": [7]}', 400, "Invalid request structure"),
        (
            b'{"campaign": "Sales", "callback_url": [], "bulk_data": [{"numeric": "1"}]}',
            400,
            "Invalid request structure",
        ),
        (
            b'{"campaign": "Sales", "action_type": {"x": 1}, "bulk_data": [{"numeric": "1"}]}',
            400,
            "Invalid action_type: {'x': 1}",
        ),
        (
            b'{"campaign": "Sales", "action_type": "update", "reference_field": ["numeric"],'
            b' "bulk_data": [{"numeric": "1"}]}',
            400,
            "reference_field is missing in the request!",
        ),
        (
            b'{"campaign": "Sales", "bulk_data": [{"numeric": "1",'
            b' "x\'; DROP TABLE contactload_contact;--": "1"}]}',
            400,
            HEADERS_MISMATCH,
        ),
        (
            b'{"campaign": "Sales", "bulk_data": [{"numeric": "1",'
            b' "<script>alert(1)</script>": "1"}]}',
            400,
            HEADERS_MISMATCH,
        ),
        (
            b'{"campaign": "Sales\\u0000", "bulk_data": [{"numeric": "1"}]}',
            400,
            "Campaign is not Present",
        ),
    ],
)
def test_garbage_bodies_get_the_documented_4xx(api, campaign, body, status, message):
    response = api.generic("POST", URL, body, content_type="application/json")
    assert response.status_code == status
    assert response.json()["errors"].startswith(message)
    assert nothing_written()
    assert Contact.objects.count() == 0


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ({"nested": {"deep": [1, 2]}}, "Expected a text value"),
        ([1, 2, 3], "Expected a text value"),
        (False, "Expected a text value"),
        ("a\x00b", "Expected a text value"),
        ("x" * (10 * 1024 * 1024), "Expected length is 10000"),
        ("y" * 10_001, "Expected length is 10000"),
    ],
)
def test_garbage_values_are_rejected_rows_with_clear_messages(process, campaign, value, message):
    rows = [
        {"numeric": "9876543210", "customer_info:name": "fine", "loan:notes": "ok"},
        {"numeric": "9876543211", "customer_info:name": "fine", "loan:notes": "ok"},
    ]
    rows[1]["customer_info:name"] = value
    body = process({"campaign": "Sales", "bulk_data": rows})
    assert body["state"] == "completed"
    assert (body["inserted"], body["rejected"]) == (1, 1)
    assert body["improper_data"][0]["description"] == message
    stored = RowResult.objects.get().data["customer_info:name"]
    assert len(orjson.dumps(stored)) < 2_000  # the report keeps a cut, not 10 MB
    assert list(Contact.objects.values_list("numeric", flat=True)) == ["+919876543210"]


def test_a_huge_numeric_value_is_an_invalid_number(process, campaign):
    body = process({"campaign": "Sales", "bulk_data": [{"numeric": "9" * 5000}]})
    assert body["improper_data"][0]["description"] == "Enter Valid Number"


def test_a_csv_with_a_huge_field_or_nul_bytes_is_answered_not_crashed(api, campaign):
    huge = api.generic(
        "POST", f"{URL}?campaign=Sales", "numeric\n" + "9" * 200_000 + "\n", content_type="text/csv"
    )
    assert huge.status_code == 400
    assert huge.json()["errors"].startswith("Invalid JSON: CSV line")
    nul = api.generic(
        "POST", f"{URL}?campaign=Sales", b"numeric\n98765\x0043210\n", content_type="text/csv"
    )
    assert nul.status_code in (200, 400)  # a row to reject, or a CSV error: never a 5xx


# --- abuse limits ----------------------------------------------------------------------


def test_uploads_are_rate_limited_per_token(upload, campaign, manager, settings):
    settings.CONTACTLOAD_RATES = {"uploads": "3/min", "status": "1000/min"}
    body = {"campaign": "Sales", "bulk_data": [{"numeric": "9876543210"}]}
    answers = [upload(body) for _ in range(4)]
    assert [answer.status_code for answer in answers] == [200, 200, 200, 429]
    assert int(answers[-1]["Retry-After"]) > 0
    assert answers[-1].json()["detail"].startswith("Request was throttled.")
    assert UploadJob.objects.count() == 3
    fresh = APIClient(HTTP_AUTHORIZATION=f"Token {issue_token(manager)}")
    assert upload(body, client=fresh).status_code == 200  # another token has its own budget


def test_a_token_has_one_budget_across_the_web_processes(upload, campaign, manager, settings):
    """gunicorn serves with several processes: a request another process let through
    counts against the same limit here."""
    settings.CONTACTLOAD_RATES = {"uploads": "2/min", "status": "1000/min"}
    token = issue_token(manager)
    client = APIClient(HTTP_AUTHORIZATION=f"Token {token}")
    body = {"campaign": "Sales", "bulk_data": [{"numeric": "9876543210"}]}
    assert upload(body, client=client).status_code == 200

    another_process = subprocess.run(
        [sys.executable, "-c", LET_THROUGH, hash_token(token)],
        env={**os.environ, "CONTACTLOAD_UPLOAD_RATE": "2/min"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert another_process.stdout.split() == ["True", "False"], another_process.stderr

    assert upload(body, client=client).status_code == 429
    assert UploadJob.objects.count() == 1


# Another process's throttle, given a token's digest: lets one request through, then
# refuses one (the test's request before it counts).
LET_THROUGH = """
import sys
from types import SimpleNamespace
import django
django.setup()
from contactload.api.throttles import UploadRateThrottle
request = SimpleNamespace(auth=SimpleNamespace(digest=sys.argv[1]))
print(UploadRateThrottle().allow_request(request, None))
print(UploadRateThrottle().allow_request(request, None))
"""


def test_status_reads_are_rate_limited_per_token(api, campaign, settings):
    settings.CONTACTLOAD_RATES = {"uploads": "1000/min", "status": "2/min"}
    codes = [api.get("/api/bulkphonebookupload/status/none/").status_code for _ in range(3)]
    assert codes == [404, 404, 429]


# --- security review -------------------------------------------------------------------

OPEN = {"api/generate-token/", "api/health/", "health"}


def api_routes() -> list[str]:
    routes = []
    for pattern in get_resolver().url_patterns:
        route = str(pattern.pattern)
        if route.startswith(("api/", "health")) and route not in OPEN:
            routes.append(
                "/" + route.replace("<str:job_id>", "job").replace("<path:name>", "Sales")
            )
    return routes


@pytest.mark.parametrize("method", ["get", "post"])
def test_every_endpoint_but_token_and_health_needs_auth(campaign, method):
    routes = api_routes()
    assert len(routes) >= 6
    for route in routes:
        response = getattr(APIClient(), method)(route)
        assert response.status_code == 401, route


def test_another_campaigns_jobs_and_rejected_rows_are_404_and_leak_nothing(
    process, campaign, agents
):
    from contactload.models import Campaign, Role

    body = process({"campaign": "Sales", "bulk_data": [{"numeric": "1"}]})
    job_id = body["job_id"]
    outsider = make_user("outsider", Role.MANAGER, [Campaign.objects.create(name="Other")])
    client = APIClient(HTTP_AUTHORIZATION=f"Token {issue_token(outsider)}")
    for url in (
        f"/api/bulkphonebookupload/status/{job_id}/",
        f"/api/bulkphonebookupload/status/{job_id}/improper_data.csv",
    ):
        response = client.get(url)
        assert response.status_code == 404
        assert response.json() == {"errors": "Job not found."}
    upload = client.post(URL, {"campaign": "Sales", "bulk_data": [{"numeric": "2"}]}, format="json")
    assert upload.status_code == 403
    assert upload.json() == {"errors": "You do not have permission to perform this action."}


def test_job_ids_are_unguessable(upload, campaign):
    ids = [
        upload({"campaign": "Sales", "bulk_data": [{"numeric": "9876543210"}]}).json()["job_id"]
        for _ in range(20)
    ]
    assert len(set(ids)) == 20
    assert all(len(job_id) >= 22 for job_id in ids)  # 128 random bits, URL-safe
    assert len({job_id[:4] for job_id in ids}) > 10  # no shared prefix or counter


@pytest.mark.parametrize("username", ["crm\x00push", "x" * 100_000, "' OR 1=1 --"])
def test_generate_token_with_garbage_credentials_is_a_400(manager, username):
    response = APIClient().post(
        "/api/generate-token/", {"username": username, "password": "p\x00"}, format="json"
    )
    assert response.status_code == 400


def test_a_multipart_body_without_a_boundary_is_a_400(api, campaign):
    response = api.generic(
        "POST", URL, b'{"campaign": "Sales"}', content_type="multipart/form-data"
    )
    assert response.status_code == 400
    assert response.json()["errors"].startswith("Invalid JSON: the multipart form cannot be read")
    assert nothing_written()
