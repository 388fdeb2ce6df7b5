"""CONTRACT 5.3 through HTTP: an Idempotency-Key makes retries safe, also when
they arrive at the same moment."""

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import orjson
import pytest
from django.utils import timezone

from contactload.models import Campaign, IdempotencyKey, Phonebook, Role, UploadJob
from contactload.tokens import issue_token
from tests.conftest import make_user

URL = "/api/bulkphonebookupload/v1/"
BODY = {"campaign": "Sales", "bulk_data": [{"numeric": "9876543210"}]}


def test_a_retry_with_the_same_key_and_body_gets_the_first_answer(upload):
    first = upload(BODY, HTTP_IDEMPOTENCY_KEY="push-1")
    again = upload(BODY, HTTP_IDEMPOTENCY_KEY="push-1")
    assert first.status_code == again.status_code == 200
    assert again.json() == first.json()
    assert UploadJob.objects.count() == Phonebook.objects.count() == 1
    assert IdempotencyKey.objects.get().job_id == first.json()["job_id"]


def test_the_same_key_with_another_body_is_refused(upload):
    upload(BODY, HTTP_IDEMPOTENCY_KEY="push-1")
    other = upload(
        {**BODY, "bulk_data": [{"numeric": "9876543211"}]}, HTTP_IDEMPOTENCY_KEY="push-1"
    )
    assert other.status_code == 422
    assert other.json() == {
        "errors": "Idempotency-Key push-1 was already used with a different request; "
        "use a new key for a new upload"
    }
    assert UploadJob.objects.count() == 1


def test_keys_are_per_user(upload, api, campaign, django_capture_on_commit_callbacks):
    from rest_framework.test import APIClient

    other = make_user("second", Role.MANAGER, [campaign])
    client = APIClient(HTTP_AUTHORIZATION=f"Token {issue_token(other)}")
    first = upload(BODY, HTTP_IDEMPOTENCY_KEY="k")
    second = upload(BODY, client=client, HTTP_IDEMPOTENCY_KEY="k")
    assert first.json()["job_id"] != second.json()["job_id"]
    assert UploadJob.objects.count() == 2


def test_expired_keys_are_forgotten(upload, settings):
    settings.CONTACTLOAD_IDEMPOTENCY_TTL_HOURS = 1
    first = upload(BODY, HTTP_IDEMPOTENCY_KEY="k")
    IdempotencyKey.objects.update(created_at=timezone.now() - timedelta(hours=2))
    again = upload(BODY, HTTP_IDEMPOTENCY_KEY="k")
    assert again.status_code == 200
    assert again.json()["job_id"] != first.json()["job_id"]
    assert IdempotencyKey.objects.get().job_id == again.json()["job_id"]


def test_an_unusable_key_is_a_clear_400(upload):
    response = upload(BODY, HTTP_IDEMPOTENCY_KEY="x" * 256)
    assert response.status_code == 400
    assert response.json() == {"errors": "Idempotency-Key must be 1 to 255 printable characters"}
    assert not UploadJob.objects.exists()


def test_a_request_error_does_not_use_up_the_key(upload):
    bad = upload({"campaign": "Nope", "bulk_data": [{"numeric": "1"}]}, HTTP_IDEMPOTENCY_KEY="k")
    assert bad.status_code == 400
    assert not IdempotencyKey.objects.exists()
    assert upload(BODY, HTTP_IDEMPOTENCY_KEY="k").status_code == 200


def test_csv_retries_are_idempotent_too(api, campaign, django_capture_on_commit_callbacks):
    def post():
        with django_capture_on_commit_callbacks(execute=True):
            return api.generic(
                "POST",
                f"{URL}?campaign=Sales",
                "numeric\n9876543210\n",
                content_type="text/csv",
                HTTP_IDEMPOTENCY_KEY="csv-1",
            )

    assert post().json() == post().json()
    assert UploadJob.objects.count() == 1


def live_post(url: str, token: str, body: bytes, key: str) -> tuple[int, dict]:
    """POST like an integrator's client: a connection the test server's small listen
    backlog resets is simply sent again (with the same key, which is the point)."""
    import time
    import urllib.error
    import urllib.request

    request = urllib.request.Request(
        url,
        data=body,
        method="POST",
        headers={
            "Authorization": f"Token {token}",
            "Content-Type": "application/json",
            "Idempotency-Key": key,
        },
    )
    for attempt in range(10):
        try:
            with urllib.request.urlopen(request, timeout=120) as response:
                return response.status, orjson.loads(response.read())
        except urllib.error.HTTPError as error:
            return error.code, orjson.loads(error.read())
        except (ConnectionError, urllib.error.URLError):
            time.sleep(0.05 * (attempt + 1))
    raise AssertionError(f"{url} kept refusing connections")


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_50_concurrent_retries_with_one_key_make_one_job(live_server):
    campaign = Campaign.objects.create(name="Sales")
    token = issue_token(make_user("crm_push", Role.MANAGER, [campaign]))
    body = orjson.dumps(
        {"campaign": "Sales", "bulk_data": [{"numeric": f"98765{i:05d}"} for i in range(2000)]}
    )
    with ThreadPoolExecutor(max_workers=50) as pool:
        answers = list(
            pool.map(
                lambda _i: live_post(live_server.url + URL, token, body, "nightly-push-1"),
                range(50),
            )
        )
    assert {status for status, _body in answers} == {200}
    assert len({orjson.dumps(body) for _status, body in answers}) == 1
    assert UploadJob.objects.count() == Phonebook.objects.count() == 1
    assert IdempotencyKey.objects.count() == 1
    assert UploadJob.objects.get().pk == answers[0][1]["job_id"]
