import json
import secrets
import shlex

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from contactload.models import Campaign
from contactload.tokens import issue_token

NAMES = ("Asha", "Ravi", "Meera")


class Command(BaseCommand):
    help = (
        "Issue a token for the demo manager and print it with ready-to-paste curl commands "
        "that upload three contacts and read the job's status."
    )

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=8000, help="the server's port")
        parser.add_argument("--username", default="demo_manager", help="the demo manager")

    def handle(self, *args, port: int, username: str, **options):
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(
                f"User {username} does not exist: run `contactload load-config "
                "contactload/demo/demo.yaml` first"
            )
        campaign = Campaign.objects.filter(membership__user=user).order_by("name").first()
        if campaign is None:
            raise CommandError(f"User {username} is not a member of any campaign")
        token = issue_token(user)
        base = f"http://127.0.0.1:{port}/api/bulkphonebookupload"
        auth = shlex.quote(f"Authorization: Token {token}")
        body = shlex.quote(json.dumps(demo_upload(campaign)))
        self.stdout.write(
            f"Demo manager {username}, API token:\n{token}\n\n"
            f"Upload three contacts to campaign {campaign.name}:\n"
            f"curl -sS -X POST {base}/v1/ \\\n  -H {auth} \\\n"
            f"  -H 'Content-Type: application/json' \\\n  -d {body}\n\n"
            "Then set JOB_ID to the job_id of that answer and read the job's status:\n"
            f'curl -sS -H {auth} "{base}/status/$JOB_ID/"\n'
        )


def demo_upload(campaign: Campaign) -> dict:
    """Three insert rows with fresh numbers (so that every printed curl completes, not
    only the first); each carries the campaign's first text CRM field when it has one
    (rows of one upload must share the same headers)."""
    field = campaign.crm_fields.filter(type__in=("text", "textarea")).order_by("position").first()
    batch = secrets.randbelow(10**6)
    rows = [
        {"numeric": f"98{batch:06d}{i:02d}", "first_name": name}
        for i, name in enumerate(NAMES, start=1)
    ]
    if field is not None:
        for i, row in enumerate(rows, start=1):
            row[field.header] = f"DEMO-{batch}-{i}"[: field.size or None]
    return {"campaign": campaign.name, "action_type": "insert", "bulk_data": rows}
