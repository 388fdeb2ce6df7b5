from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from contactload.tokens import issue_token


class Command(BaseCommand):
    help = "Issue a new API token for USERNAME and print it (only the token) on stdout."

    def add_arguments(self, parser):
        parser.add_argument("username", metavar="USERNAME")

    def handle(self, *args, username: str, **options):
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"User {username} does not exist")
        self.stdout.write(issue_token(user))
