"""Database checks of a chunk of rows (CONTRACT 3.1): agents, DNC lists and
duplicates against the campaign, each one query per chunk. Adds its findings to
the rows as errors; in-upload duplicates are judged against rows already
accepted (earlier chunks are in the database under this job's phonebook)."""

from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db.models import Q
from django.utils import timezone

from contactload.ingest import writers
from contactload.ingest.campaign import CampaignRules
from contactload.ingest.rows import CheckedRow
from contactload.models import DncEntry, Membership, Role

IN_FILE = "This row is duplicated in file"


def taken(header: str, campaign: str) -> str:
    """CONTRACT 3.1's message for a value another contact of the campaign holds."""
    return f"contact with this {header} value is already exist in {campaign} campaign"


@dataclass(frozen=True, slots=True)
class JobContext:
    rules: CampaignRules
    phonebook_id: int
    agents: dict[str, int]  # username -> user id, agents of the campaign


def campaign_agents(campaign_id: int) -> dict[str, int]:
    memberships = Membership.objects.filter(
        campaign_id=campaign_id, user__profile__role=Role.AGENT, user__is_active=True
    )
    return dict(memberships.values_list("user__username", "user_id"))


def check_users(ctx: JobContext, rows: list[CheckedRow]) -> None:
    names = {row.user for row in rows if row.user is not None}
    unknown = names - ctx.agents.keys()
    existing = set(
        get_user_model().objects.filter(username__in=unknown).values_list("username", flat=True)
    )
    for row in rows:
        if row.user is None or row.user in ctx.agents:
            continue
        if row.user in existing:
            row.reject("user", "user_not_assigned", "This user is not assigned to this campaign")
        else:
            row.reject("user", "user_not_found", "This user is not present in our database")


def blocked_numbers(campaign_id: int, numbers: set[str]) -> tuple[set[str], set[str]]:
    """(globally blocked, blocked in this campaign) among ``numbers``."""
    today = timezone.localdate()
    entries = (
        DncEntry.objects.filter(numeric__in=numbers, active=True)
        .filter(Q(campaign__isnull=True) | Q(campaign_id=campaign_id))
        .filter(Q(end_date__isnull=True) | Q(end_date__gte=today))
        .values_list("numeric", "campaign_id")
    )
    blocked_global, blocked_here = set(), set()
    for numeric, campaign_id_ in entries:
        (blocked_global if campaign_id_ is None else blocked_here).add(numeric)
    return blocked_global, blocked_here


def existing(ctx: JobContext, column: str, values: set[str]) -> tuple[set[str], set[str]]:
    """(values this upload already stored, values other uploads stored) in the campaign."""
    mine, others = set(), set()
    for value, phonebook_id in writers.campaign_holders(ctx.rules.id, column, values):
        (mine if phonebook_id == ctx.phonebook_id else others).add(value)
    return mine, others


def check_chunk(ctx: JobContext, rows: list[CheckedRow]) -> None:
    rules = ctx.rules
    check_users(ctx, rows)
    numbers = {row.numeric for row in rows if row.numeric is not None}
    blocked_global, blocked_here = blocked_numbers(rules.id, numbers)
    numbers_mine, numbers_others = existing(ctx, "numeric", numbers)
    unique = rules.unique_field
    uniqueids = {row.uniqueid for row in rows if row.uniqueid is not None}
    ids_mine, ids_others = existing(ctx, "uniqueid", uniqueids) if unique else (set(), set())
    seen_numbers, seen_ids = set(), set()
    for row in rows:
        numeric = row.numeric
        if numeric is not None:
            if numeric in blocked_global:
                row.reject("numeric", "dnc_global", "This number is blocked globally")
            if numeric in blocked_here:
                row.reject("numeric", "dnc_campaign", "This number is blocked in this campaign")
            if numeric in seen_numbers or numeric in numbers_mine:
                row.reject("numeric", "duplicate_in_file", IN_FILE)
            elif rules.rejects_duplicates and numeric in numbers_others:
                row.reject("numeric", "duplicate_in_campaign", taken("numeric", rules.name))
        uniqueid = row.uniqueid
        if uniqueid is not None:
            if uniqueid in seen_ids or uniqueid in ids_mine:
                row.reject(unique.header, "duplicate_in_file", IN_FILE)
            elif uniqueid in ids_others:
                row.reject(unique.header, "duplicate_in_campaign", taken(unique.header, rules.name))
        if row.ok:
            seen_numbers.add(numeric)
            if uniqueid is not None:
                seen_ids.add(uniqueid)
