"""What a client may read about its campaigns and jobs (CONTRACT 5.1, 5.2, 5.6): the
campaign directory, a campaign's sample CSV, and a job's rejected rows as CSV. The
rejected rows are streamed chunk by chunk, never all in memory, and every cell a
spreadsheet could run as a formula is neutralised. Reads only."""

import csv
import io
from collections.abc import Iterable, Iterator

from django.db.models import Prefetch

from contactload import errors
from contactload.access import may_use_upload_api, reachable_campaigns
from contactload.ingest.campaign import load_rules, rules_from
from contactload.ingest.status import improper_item
from contactload.models import CrmField, RowResult, UploadJob
from contactload.spreadsheet import cell

CHUNK_ROWS = 2000


def check_action(action: str) -> str:
    if action not in UploadJob.Action.values:
        raise errors.InvalidActionType(action)
    return action


def campaign_directory(user) -> list[dict]:
    """The campaigns ``user``'s token may upload to, with the headers each accepts."""
    if not may_use_upload_api(user):
        raise errors.Forbidden()
    ordered = CrmField.objects.order_by("position", "id")
    campaigns = reachable_campaigns(user).prefetch_related(Prefetch("crm_fields", ordered))
    entries = []
    for campaign in campaigns:
        rules = rules_from(campaign, campaign.crm_fields.all())
        entries.append(
            {
                "name": campaign.name,
                "country": campaign.country,
                "duplicates": campaign.duplicates,
                "active": campaign.active,
                "headers": {
                    action: list(rules.accepted_headers(action))
                    for action in UploadJob.Action.values
                },
            }
        )
    return entries


def sample_csv(user, name: str, action: str) -> str:
    """The header line campaign ``name`` accepts for ``action``, as CSV text."""
    check_action(action)
    campaign = reachable_campaigns(user).filter(name=name).first()
    if campaign is None:
        raise errors.CampaignNotFound()
    return csv_text([load_rules(campaign).accepted_headers(action)])


def csv_text(rows: Iterable[Iterable[str]]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    return buffer.getvalue()


def codes_text(codes: dict[str, list[str]]) -> str:
    pairs = (f"{header}:{code}" for header, found in codes.items() for code in found)
    return "; ".join(dict.fromkeys(pairs))


def rejected_rows_csv(job: UploadJob) -> Iterator[str]:
    """Every rejected row of ``job`` so far: ``row``, the job's headers in upload order,
    ``description`` and ``error_codes``; yielded a chunk of rows at a time."""
    headers = list(job.headers)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([cell(name) for name in ("row", *headers, "description", "error_codes")])
    # Plain named rows, not model instances (3x lighter per row): ``improper_item`` reads
    # only ``row``, ``data`` and ``errors``.
    results = (
        RowResult.objects.filter(job=job)
        .order_by("row")
        .values_list("row", "data", "errors", named=True)
        .iterator(chunk_size=CHUNK_ROWS)
    )
    for count, result in enumerate(results, start=1):
        item = improper_item(result)
        values = (result.data.get(header) for header in headers)
        writer.writerow(
            [
                cell(result.row),
                *(cell(value) for value in values),
                cell(item["description"]),
                cell(codes_text(item["error_codes"])),
            ]
        )
        if count % CHUNK_ROWS == 0:
            yield take(buffer)
    yield take(buffer)


def take(buffer: io.StringIO) -> str:
    text = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    return text
