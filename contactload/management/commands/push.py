"""``contactload push``: the door to ``contactload.client.push`` (HTTP only, no database):
parse the arguments, push, print the totals, exit with the outcome's code."""

import os
import sys
from argparse import RawDescriptionHelpFormatter
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, DjangoHelpFormatter

from contactload.client.errors import PushError
from contactload.client.push import MAX_CHUNK_ROWS, PushOptions, push

DEFAULT_URL = "http://127.0.0.1:8000"


class HelpFormatter(DjangoHelpFormatter, RawDescriptionHelpFormatter):
    pass


class Command(BaseCommand):
    help = """Push a CSV or JSON file of contacts to a contactload server over HTTP.

The file is sent in chunks (one upload job each) to POST /api/bulkphonebookupload/v1/,
each with an Idempotency-Key derived from its rows, the campaign, the action and its
position: re-running the same command after a failure re-sends the same keys. The
command then waits for the jobs, prints the totals, and writes every rejected row,
numbered by its data line in FILE, to FILE's stem + ".rejected.csv" (or --rejects).

Exit codes:
  0  every row accepted (or --no-wait: every chunk sent)
  1  some rows rejected (see the rejects file)
  2  usage or input error (missing or bad file, no token); nothing was sent for it
  3  connection or HTTP error (server unreachable, bad token, upload refused)
  4  a job failed, or did not finish within --timeout"""

    # A client: no system checks, no database.
    requires_system_checks = []

    def create_parser(self, prog_name, subcommand, **kwargs):
        return super().create_parser(prog_name, subcommand, formatter_class=HelpFormatter)

    def add_arguments(self, parser):
        parser.add_argument("file", metavar="FILE", help="a .csv (header line first) or .json")
        parser.add_argument("--campaign", required=True, help="the campaign's name")
        parser.add_argument(
            "--update",
            action="store_true",
            help="update existing contacts (action_type update) instead of inserting",
        )
        parser.add_argument(
            "--reference-field",
            metavar="F",
            help="with --update: numeric, or the CRM field that finds the contacts",
        )
        parser.add_argument(
            "--callback-url",
            metavar="URL",
            help="have each chunk's job POST its final status, signed, to URL when it finishes",
        )
        parser.add_argument(
            "--url",
            default=os.environ.get("CONTACTLOAD_URL", DEFAULT_URL),
            help=f"the server (default: $CONTACTLOAD_URL or {DEFAULT_URL})",
        )
        parser.add_argument(
            "--token",
            default=os.environ.get("CONTACTLOAD_TOKEN", ""),
            help="an API token (default: $CONTACTLOAD_TOKEN)",
        )
        parser.add_argument(
            "--chunk-rows",
            type=int,
            default=10_000,
            metavar="N",
            help=f"rows per upload (default: 10000, at most {MAX_CHUNK_ROWS})",
        )
        parser.add_argument(
            "--rejects", metavar="PATH", help="where to write the rejected rows (CSV)"
        )
        parser.add_argument(
            "--no-wait",
            action="store_true",
            help="send the chunks, print their job ids and exit without waiting",
        )
        parser.add_argument(
            "--timeout",
            type=float,
            default=3600.0,
            metavar="SECONDS",
            help="how long to wait for the jobs in all (default: 3600)",
        )

    def handle(self, *args, file, campaign, update, reference_field, url, token, **options):
        settings = PushOptions(
            path=Path(file),
            campaign=campaign,
            url=url,
            token=token,
            action="update" if update else "insert",
            reference_field=reference_field,
            callback_url=options["callback_url"],
            chunk_rows=options["chunk_rows"],
            rejects=Path(options["rejects"]) if options["rejects"] else None,
            wait=not options["no_wait"],
            timeout=options["timeout"],
        )
        try:
            result = push(settings)
        except PushError as exc:
            raise CommandError(exc.message, returncode=exc.exit_code) from None
        except KeyboardInterrupt:
            raise CommandError(
                "interrupted: running the same command again re-sends the same Idempotency-Keys",
                returncode=130,
            ) from None
        for warning in result.warnings:
            self.stderr.write(warning)
        self.stdout.write("\n".join(result.report()))
        if result.exit_code:
            sys.exit(result.exit_code)
