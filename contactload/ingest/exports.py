"""What a client may read about its campaigns and jobs (CONTRACT 5.1, 5.2, 5.6): the
campaign directory, a campaign's sample CSV, and a job's rejected rows as CSV. The
rejected rows are streamed chunk by chunk, never all in memory, and every cell a
spreadsheet could run as a formula is neutralised. Reads only."""

import csv
import io
import json
from collections.abc import Iterable, Iterator

from django.db.models import Prefetch

from contactload import errors
from contactload.access import may_use_upload_api, reachable_campaigns
from contactload.ingest.campaign import CampaignRules, FieldRule, load_rules
from contactload.ingest.status import improper_item
from contactload.models import Campaign, CrmField, RowResult, UploadJob

CHUNK_ROWS = 2000
# What Excel, LibreOffice and Google Sheets treat as the start of a formula (OWASP).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


class CampaignNotFound(errors.CampaignNotPresent):
    """``Campaign is not Present`` as a 404: a read of something the caller cannot see."""

    status = 404


def check_action(action: str) -> str:
    if action not in UploadJob.Action.values:
        raise errors.InvalidActionType(action)
    return action


def rules_from_prefetched(campaign: Campaign) -> CampaignRules:
    """``load_rules`` for a campaign whose ``crm_fields`` are prefetched in position order:
    no query of its own, so a list of campaigns costs the same as one."""
    fields = tuple(
        FieldRule(
            header=field.header,
            section=field.section,
            name=field.name,
            type=field.type,
            size=field.size,
            choices=tuple(str(choice) for choice in field.choices),
            unique=field.unique,
        )
        for field in campaign.crm_fields.all()
    )
    return CampaignRules(
        id=campaign.pk,
        name=campaign.name,
        country=campaign.country,
        rejects_duplicates=campaign.rejects_duplicates,
        fields=fields,
    )


def campaign_directory(user) -> list[dict]:
    """The campaigns ``user``'s token may upload to, with the headers each accepts."""
    if not may_use_upload_api(user):
        raise errors.Forbidden()
    ordered = CrmField.objects.order_by("position", "id")
    campaigns = reachable_campaigns(user).prefetch_related(Prefetch("crm_fields", ordered))
    entries = []
    for campaign in campaigns:
        rules = rules_from_prefetched(campaign)
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
        raise CampaignNotFound()
    return csv_text([load_rules(campaign).accepted_headers(action)])


def csv_text(rows: Iterable[Iterable[str]]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    return buffer.getvalue()


def cell(value: object) -> str:
    """A value as a spreadsheet-safe cell: text as is, null empty, anything else as JSON."""
    if isinstance(value, str):
        text = value
    elif value is None:
        text = ""
    else:
        text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def codes_text(codes: dict[str, list[str]]) -> str:
    return "; ".join(f"{header}:{code}" for header, found in codes.items() for code in found)


def rejected_rows_csv(job: UploadJob) -> Iterator[str]:
    """Every rejected row of ``job`` so far: ``row``, the job's headers in upload order,
    ``description`` and ``error_codes``; yielded a chunk of rows at a time."""
    headers = list(job.headers)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([cell(name) for name in ("row", *headers, "description", "error_codes")])
    results = (
        RowResult.objects.filter(job=job)
        .order_by("row")
        .only("row", "data", "errors")
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
