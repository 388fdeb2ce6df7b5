"""Schemathesis over the service's own OpenAPI schema, with a valid token, against a
live server: thousands of generated requests, and not one 5xx."""

import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from contactload.models import Campaign, CrmField, Role
from contactload.tokens import issue_token
from tests.conftest import make_user

SCHEMATHESIS = Path(sys.executable).parent / "schemathesis"


def interactions(report: Path) -> int:
    count = 0
    for line in report.read_text().splitlines():
        event = orjson.loads(line)
        if "ScenarioFinished" in event:
            count += len(event["ScenarioFinished"].get("recorder", {}).get("interactions", {}))
    return count


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_no_generated_request_gets_a_server_error(live_server, settings, tmp_path):
    settings.CONTACTLOAD_RATES = {"uploads": None, "status": None}
    campaign = Campaign.objects.create(name="Sales")
    CrmField.objects.create(
        campaign=campaign, section="customer_info", name="customer_id", size=30, unique=True
    )
    make_user("agent1", Role.AGENT, [campaign])
    token = issue_token(make_user("crm_push", Role.MANAGER, [campaign]))
    report = tmp_path / "events.ndjson"
    run = subprocess.run(
        [
            str(SCHEMATHESIS),
            "run",
            f"{live_server.url}/api/schema/",
            "--header",
            f"Authorization: Token {token}",
            "--checks",
            "not_a_server_error",
            "--max-examples",
            "150",
            "--seed",
            "2026",
            "--no-color",
            "--report",
            "ndjson",
            "--report-ndjson-path",
            str(report),
        ],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    sent = interactions(report)
    print(f"schemathesis sent {sent} requests")
    assert run.returncode == 0, run.stdout[-4000:]
    assert sent >= 2000
