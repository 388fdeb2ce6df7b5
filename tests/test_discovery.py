"""CONTRACT 5.6 through HTTP: the campaign directory, the health report, and the
OpenAPI description (valid, complete, with the contract's examples)."""

import re
from datetime import timedelta

import orjson
import pytest
from django.db import OperationalError, connections
from django.test.utils import CaptureQueriesContext
from django.urls import get_resolver, path
from django.utils import timezone
from django_tasks_db.models import DBTaskResult
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from drf_spectacular.validation import validate_schema
from rest_framework.test import APIClient
from rest_framework.views import APIView

from contactload import errors
from contactload.api.examples import STATUS_EXAMPLES, TOKEN_EXAMPLES, UPLOAD_EXAMPLES
from contactload.ingest.campaign import STANDARD_HEADERS, load_rules
from contactload.models import Campaign, CrmField, Role
from contactload.tokens import issue_token
from tests.conftest import make_user, run_worker

CAMPAIGNS = "/api/campaigns/"


def client_for(user) -> APIClient:
    return APIClient(HTTP_AUTHORIZATION=f"Token {issue_token(user)}")


def add_campaign(name: str, fields: int, members=()) -> Campaign:
    campaign = Campaign.objects.create(name=name, country="AE", duplicates="allow")
    # Created out of position order: the headers must follow ``position``.
    for position in reversed(range(fields)):
        CrmField.objects.create(
            campaign=campaign, section="s", name=f"f{position}", position=position
        )
    for user in members:
        campaign.membership_set.create(user=user)
    return campaign


# --- the campaign directory ---


def test_a_manager_lists_its_campaigns_with_their_headers(campaign, manager):
    add_campaign("East", 3, [manager])
    add_campaign("Hidden", 1)
    response = client_for(manager).get(CAMPAIGNS)
    assert response.status_code == 200
    body = response.json()
    assert [entry["name"] for entry in body] == ["East", "Sales"]
    assert body[0] == {
        "name": "East",
        "country": "AE",
        "duplicates": "allow",
        "active": True,
        "headers": {
            "insert": [*STANDARD_HEADERS, "s:f0", "s:f1", "s:f2"],
            "update": list(
                load_rules(Campaign.objects.get(name="East")).accepted_headers("update")
            ),
        },
    }
    sales = load_rules(campaign)
    assert body[1]["headers"] == {
        "insert": list(sales.accepted_headers("insert")),
        "update": list(sales.accepted_headers("update")),
    }
    assert (body[1]["country"], body[1]["duplicates"]) == ("IN", "reject")


def test_an_admin_lists_every_campaign(campaign):
    add_campaign("East", 0)
    boss = make_user("boss", Role.ADMIN)
    names = [entry["name"] for entry in client_for(boss).get(CAMPAIGNS).json()]
    assert names == ["East", "Sales"]


def test_a_manager_of_no_campaign_gets_an_empty_list(db):
    response = client_for(make_user("lonely", Role.MANAGER)).get(CAMPAIGNS)
    assert response.status_code == 200
    assert response.json() == []


def test_an_agent_may_not_list_campaigns(campaign):
    response = client_for(make_user("agent9", Role.AGENT, [campaign])).get(CAMPAIGNS)
    assert response.status_code == 403
    assert response.json() == {"errors": "You do not have permission to perform this action."}


def test_listing_campaigns_needs_a_token(db):
    response = APIClient().get(CAMPAIGNS)
    assert response.status_code == 401
    assert response.json() == {"detail": "Authentication credentials were not provided."}


def test_listing_campaigns_costs_the_same_queries_for_2_or_20(campaign, manager):
    client = client_for(manager)

    def queries() -> int:
        with CaptureQueriesContext(connections["default"]) as captured:
            assert client.get(CAMPAIGNS).status_code == 200
        return len(captured)

    add_campaign("C00", 4, [manager])
    few = queries()
    for i in range(1, 19):
        add_campaign(f"C{i:02}", 4, [manager])
    assert len(client.get(CAMPAIGNS).json()) == 20
    assert queries() == few <= 6


# --- health ---


def test_health_reports_the_database_and_an_empty_queue(db):
    response = APIClient().get("/health")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "database": "ok",
        "workers": {"alive": 0},
        "queue": {"ready": 0, "running": 0, "oldest_ready_age_s": None},
    }


def test_health_counts_uploads_waiting_for_a_worker(upload):
    assert (
        upload({"campaign": "Sales", "bulk_data": [{"numeric": "9876543210"}]}).status_code == 200
    )
    queue = APIClient().get("/health").json()["queue"]
    assert queue["ready"] == 1
    assert 0 <= queue["oldest_ready_age_s"] < 60
    run_worker()
    assert APIClient().get("/health").json()["queue"]["ready"] == 0


def test_health_counts_live_workers_and_is_degraded_when_work_waits_for_none(upload):
    from contactload.ingest import liveness

    upload({"campaign": "Sales", "bulk_data": [{"numeric": "9876543210"}]})
    waiting = APIClient().get("/health").json()
    assert (waiting["status"], waiting["workers"]) == ("degraded", {"alive": 0})
    liveness.beat("worker-a")
    served = APIClient().get("/health").json()
    assert (served["status"], served["workers"]) == ("ok", {"alive": 1})
    liveness.gone("worker-a")
    assert APIClient().get("/health").json()["workers"] == {"alive": 0}


def test_health_is_degraded_when_the_oldest_ready_task_waits_too_long(upload, settings):
    from contactload.ingest import liveness

    settings.CONTACTLOAD_HEALTH_MAX_QUEUE_AGE_S = 300
    liveness.beat("worker-a")
    upload({"campaign": "Sales", "bulk_data": [{"numeric": "9876543210"}]})
    DBTaskResult.objects.update(enqueued_at=timezone.now() - timedelta(minutes=10))
    response = APIClient().get("/health")
    assert response.status_code == 200  # the web side still serves; monitors alert on it
    assert response.json()["status"] == "degraded"
    assert response.json()["queue"]["oldest_ready_age_s"] >= 600


def test_a_delayed_task_is_ready_only_from_its_run_after(upload):
    upload({"campaign": "Sales", "bulk_data": [{"numeric": "9876543210"}]})
    now = timezone.now()
    task = DBTaskResult.objects.get()
    DBTaskResult.objects.filter(pk=task.pk).update(
        enqueued_at=now - timedelta(hours=1), run_after=now + timedelta(minutes=5)
    )
    assert APIClient().get("/health").json()["queue"]["ready"] == 0
    DBTaskResult.objects.filter(pk=task.pk).update(run_after=now - timedelta(seconds=30))
    queue = APIClient().get("/health").json()["queue"]
    assert queue["ready"] == 1
    assert 30 <= queue["oldest_ready_age_s"] < 120


def test_health_is_503_when_the_database_does_not_answer(db, monkeypatch):
    def refuse(*args, **kwargs):
        raise OperationalError("connection refused")

    with monkeypatch.context() as patch:  # undone before the test's rollback needs it
        patch.setattr(connections["default"], "cursor", refuse)
        response = APIClient().get("/health")
    assert response.status_code == 503
    assert response.json() == {
        "status": "degraded",
        "database": "error",
        "workers": None,
        "queue": None,
    }


# --- OpenAPI ---


def schema(client) -> dict:
    response = client.get("/api/schema/?format=json")
    assert response.status_code == 200
    return orjson.loads(response.content)


def test_the_schema_and_docs_need_a_token_or_a_session(db):
    assert APIClient().get("/api/schema/").status_code == 401
    assert APIClient().get("/api/docs/").status_code == 401


def test_the_schema_is_valid_openapi_3_and_lists_every_route(api):
    described = schema(api)
    validate_schema(described)  # raises on any violation of the OpenAPI 3 spec
    routes = {
        "/" + re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", str(pattern.pattern))
        for pattern in get_resolver().url_patterns
        if str(pattern.pattern).startswith(("api/", "health"))
        and not str(pattern.pattern).startswith("api/docs/")
    }
    assert {"/health", "/api/campaigns/", "/api/campaigns/{name}/sample.csv"} <= routes
    assert routes <= set(described["paths"])


def test_the_schema_describes_the_csv_downloads_as_csv(api):
    paths = schema(api)["paths"]
    for url in (
        "/api/campaigns/{name}/sample.csv",
        "/api/bulkphonebookupload/status/{job_id}/improper_data.csv",
    ):
        assert list(paths[url]["get"]["responses"]["200"]["content"]) == ["text/csv"]


def test_the_interactive_docs_page_is_served_with_its_own_swagger_ui(api):
    """Swagger UI comes from the service itself (drf-spectacular-sidecar), not a CDN:
    the page works on a network without the internet."""
    response = api.get("/api/docs/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "swagger-ui" in page
    assets = re.findall(r'(?:src|href)="([^"]+\.(?:js|css|png))"', page)
    assert any(asset.endswith("swagger-ui-bundle.js") for asset in assets), assets
    for asset in assets:
        assert asset.startswith("/static/"), asset
        served = api.get(asset)
        assert served.status_code == 200, asset
        assert b"".join(served.streaming_content if served.streaming else [served.content])


def described_with(examples: list, responses: dict) -> dict:
    """The schema of a stand-in view carrying ``examples``, as the real views will."""

    class StandIn(APIView):
        @extend_schema(request=OpenApiTypes.OBJECT, responses=responses, examples=examples)
        def post(self, request):
            raise NotImplementedError

    described = SchemaGenerator(patterns=[path("x/", StandIn.as_view())]).get_schema(public=True)
    validate_schema(described)
    return described["paths"]["/x/"]["post"]


@pytest.mark.parametrize(
    ("examples", "codes"),
    [
        (UPLOAD_EXAMPLES, [200, 201, 400, 403, 413]),
        (STATUS_EXAMPLES, [200, 404]),
        (TOKEN_EXAMPLES, [200, 400]),
    ],
    ids=["upload", "status", "token"],
)
def test_the_contract_examples_make_a_valid_schema(examples, codes):
    operation = described_with(examples, dict.fromkeys(codes, OpenApiTypes.OBJECT))
    shown = {
        name
        for part in (operation["requestBody"], *operation["responses"].values())
        for media in part["content"].values()
        for name in media.get("examples", {})
    }
    assert len(shown) == len(examples)


def test_upload_examples_carry_the_contracts_exact_messages():
    messages = {
        example.value["errors"]
        for example in UPLOAD_EXAMPLES
        if isinstance(example.value, dict) and "errors" in example.value
    }
    assert messages == {
        errors.InvalidActionType("upsert").message,
        errors.CampaignNotPresent().message,
        errors.HeadersMismatch().message,
        errors.NotUniform().message,
        errors.Forbidden().message,
        errors.TooManyRows(100_001, 100_000).message,
    }


def test_status_examples_have_the_keys_of_real_status_bodies(api, process):
    real = process(
        {"campaign": "Sales", "bulk_data": [{"numeric": "9876543210"}, {"numeric": "4"}]}
    )
    example = next(e.value for e in STATUS_EXAMPLES if e.value.get("status") == "Invalid Data")
    assert set(example) == set(real)
    assert set(example["improper_data"][0]) - {"user", "customer_info:customer_id"} == set(
        real["improper_data"][0]
    )
