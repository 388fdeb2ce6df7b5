from django.core.management.base import BaseCommand, CommandError

from contactload.config import load_config
from contactload.errors import ConfigError


class Command(BaseCommand):
    help = (
        "Apply a configuration file (YAML or JSON) of campaigns, CRM fields, users and "
        "memberships. Idempotent; on any problem nothing is applied."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", metavar="FILE", help="a .yaml, .yml or .json file")

    def handle(self, *args, file: str, **options):
        try:
            summary = load_config(file)
        except ConfigError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"{file}: {summary}")
