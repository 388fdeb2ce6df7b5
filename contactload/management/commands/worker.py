"""``contactload worker``: one background worker (django-tasks-db's ``db_worker``)."""

from django.core.management import call_command
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = (
        "Run one background worker that processes queued uploads "
        "(django-tasks-db's db_worker; run several for more throughput)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--batch", action="store_true", help="Process every queued job, then exit."
        )
        parser.add_argument(
            "--interval",
            type=float,
            default=0.5,
            help="Seconds to wait between polls of an empty queue (default: 0.5).",
        )

    def handle(self, *, batch: bool, interval: float, verbosity: int, **options):
        arguments = ["--no-reload", "--no-startup-delay", "--interval", str(interval)]
        if batch:
            arguments.append("--batch")
        call_command("db_worker", *arguments, verbosity=verbosity)
