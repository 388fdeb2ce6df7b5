"""CONTRACT 1: tokens, roles and campaign reach, through HTTP."""

import pytest
from knox.models import AuthToken
from rest_framework.test import APIClient

from contactload.models import Campaign, Role
from tests.conftest import make_user

TOKEN_URL = "/api/generate-token/"
UPLOAD_URL = "/api/bulkphonebookupload/v1/"


def test_generate_token_with_json_body_returns_a_working_token(manager):
    response = APIClient().post(
        TOKEN_URL, {"username": "crm_push", "password": "secret-pw"}, format="json"
    )
    assert response.status_code == 200
    token = response.json()["token"]
    assert list(response.json()) == ["token"]
    client = APIClient(HTTP_AUTHORIZATION=f"Token {token}")
    assert client.get("/api/bulkphonebookupload/status/nope/").status_code == 404


def test_generate_token_with_form_body(manager):
    response = APIClient().post(TOKEN_URL, {"username": "crm_push", "password": "secret-pw"})
    assert response.status_code == 200
    assert len(response.json()["token"]) >= 40


def test_each_call_issues_a_new_token(manager):
    tokens = {
        APIClient()
        .post(TOKEN_URL, {"username": "crm_push", "password": "secret-pw"})
        .json()["token"]
        for _ in range(3)
    }
    assert len(tokens) == 3
    assert AuthToken.objects.filter(user=manager).count() == 3


@pytest.mark.parametrize(
    "credentials",
    [
        {"username": "crm_push", "password": "wrong"},
        {"username": "nobody", "password": "secret-pw"},
    ],
)
def test_bad_credentials_answer_400_with_drf_message(manager, credentials):
    response = APIClient().post(TOKEN_URL, credentials, format="json")
    assert response.status_code == 400
    assert response.json() == {"non_field_errors": ["Unable to log in with provided credentials."]}
    assert not AuthToken.objects.exists()


def test_inactive_user_cannot_log_in(manager):
    manager.is_active = False
    manager.save()
    response = APIClient().post(TOKEN_URL, {"username": "crm_push", "password": "secret-pw"})
    assert response.status_code == 400
    assert response.json() == {"non_field_errors": ["Unable to log in with provided credentials."]}


def test_tokens_are_stored_only_as_hashes(manager):
    token = (APIClient().post(TOKEN_URL, {"username": "crm_push", "password": "secret-pw"}).json())[
        "token"
    ]
    stored = AuthToken.objects.get(user=manager)
    assert token not in (stored.digest, stored.token_key)
    assert len(stored.token_key) < len(token)  # only a lookup prefix, not a usable token
    assert token not in repr(list(AuthToken.objects.values()))


@pytest.mark.parametrize(
    ("header", "detail"),
    [
        (None, "Authentication credentials were not provided."),
        ("Token not-a-real-token", "Invalid token."),
        ("Token", "Invalid token header. No credentials provided."),
    ],
)
def test_upload_without_a_valid_token_is_401(campaign, header, detail):
    client = APIClient()
    if header:
        client.credentials(HTTP_AUTHORIZATION=header)
    response = client.post(UPLOAD_URL, {"campaign": "Sales"}, format="json")
    assert response.status_code == 401
    assert response.json() == {"detail": detail}


def test_status_requires_a_token(campaign):
    assert APIClient().get("/api/bulkphonebookupload/status/x/").status_code == 401


def test_agents_cannot_use_the_upload_api(campaign, agents):
    client = APIClient(HTTP_AUTHORIZATION=f"Token {_token(agents[0])}")
    response = client.post(
        UPLOAD_URL, {"campaign": "Sales", "bulk_data": [{"numeric": "9876543210"}]}, format="json"
    )
    assert response.status_code == 403
    assert response.json() == {"errors": "You do not have permission to perform this action."}


def test_manager_cannot_upload_to_a_campaign_it_is_not_member_of(campaign, api):
    Campaign.objects.create(name="Other")
    response = api.post(
        UPLOAD_URL, {"campaign": "Other", "bulk_data": [{"numeric": "9876543210"}]}, format="json"
    )
    assert response.status_code == 403
    assert response.json() == {"errors": "You do not have permission to perform this action."}


def test_admin_reaches_every_campaign(campaign, django_capture_on_commit_callbacks):
    Campaign.objects.create(name="Other")
    admin = make_user("boss", Role.ADMIN)
    client = APIClient(HTTP_AUTHORIZATION=f"Token {_token(admin)}")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            UPLOAD_URL,
            {"campaign": "Other", "bulk_data": [{"numeric": "9876543210"}]},
            format="json",
        )
    assert response.status_code == 200


def test_health_needs_no_token(db):
    response = APIClient().get("/api/health/")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def _token(user) -> str:
    from contactload.tokens import issue_token

    return issue_token(user)
