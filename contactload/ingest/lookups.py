"""Database checks of a chunk of rows (CONTRACT 3.1): agents, DNC lists and
duplicates against the campaign, each one query per chunk. Adds its findings to
the rows as errors; in-upload duplicates are judged against rows already
accepted (earlier chunks are in the database under this job's phonebook)."""

from collections import Counter
from dataclasses import dataclass
from itertools import compress, count

from django.contrib.auth import get_user_model
from django.utils import timezone

from contactload.ingest import writers
from contactload.ingest.campaign import CampaignRules
from contactload.ingest.columns import CheckedChunk
from contactload.ingest.rows import CheckedRow, Error
from contactload.ingest.seen import Seen
from contactload.models import Contact, Membership, Role

IN_FILE = "This row is duplicated in file"
NOT_ASSIGNED = ("user", "user_not_assigned", "This user is not assigned to this campaign")
NOT_FOUND = ("user", "user_not_found", "This user is not present in our database")


DNC_GLOBAL = ("numeric", "dnc_global", "This number is blocked globally")
DNC_CAMPAIGN = ("numeric", "dnc_campaign", "This number is blocked in this campaign")


def taken(header: str, campaign: str) -> str:
    """CONTRACT 3.1's message for a value another contact of the campaign holds."""
    return f"contact with this {header} value is already exist in {campaign} campaign"


def in_file(header: str) -> Error:
    """The error of a value an earlier row of the upload already holds."""
    return (header, "duplicate_in_file", IN_FILE)


def in_campaign(header: str, campaign: str) -> Error:
    """The error of a value another upload's contact in the campaign already holds."""
    return (header, "duplicate_in_campaign", taken(header, campaign))


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


def campaign_holds_contacts(ctx: JobContext) -> bool:
    return Contact.objects.filter(campaign_id=ctx.rules.id).exists()


def user_errors(ctx: JobContext, names: set) -> dict[str, Error]:
    """The error each name (not None) earns that is not an agent of the campaign."""
    unknown = names - ctx.agents.keys() - {None}
    if not unknown:
        return {}
    known = set(
        get_user_model().objects.filter(username__in=unknown).values_list("username", flat=True)
    )
    return {name: NOT_ASSIGNED if name in known else NOT_FOUND for name in unknown}


def check_users(ctx: JobContext, rows: list[CheckedRow]) -> None:
    errors = user_errors(ctx, {row.user for row in rows})
    for row in rows:
        if row.user in errors:
            row.errors.append(errors[row.user])


def blocked_numbers(campaign_id: int, numbers: set[str]) -> tuple[set[str], set[str]]:
    """(globally blocked, blocked in this campaign) among ``numbers``."""
    blocked_global, blocked_here = set(), set()
    for numeric, listed_in in writers.dnc_listed(campaign_id, numbers, timezone.localdate()):
        (blocked_global if listed_in is None else blocked_here).add(numeric)
    return blocked_global, blocked_here


def existing(ctx: JobContext, column: str, values: set[str]) -> tuple[set[str], set[str]]:
    """(values this upload already stored, values other uploads stored) in the campaign."""
    mine, others = set(), set()
    for value, phonebook_id in writers.campaign_holders(ctx.rules.id, column, values):
        (mine if phonebook_id == ctx.phonebook_id else others).add(value)
    return mine, others


def repeated(values: list) -> set:
    """The values (not None) that occur more than once in ``values``."""
    distinct = set(values)
    distinct.discard(None)
    if len(distinct) == len(values) - values.count(None):
        return set()
    return {value for value, count in Counter(values).items() if count > 1 and value is not None}


def check_columns(
    ctx: JobContext,
    chunk: CheckedChunk,
    earlier: tuple | None = None,
    seen: Seen | None = None,
    before: tuple | None = None,
) -> tuple[dict[int, list[Error]], bool]:
    """Every row's errors: those of the per-row rules, then the users, DNC lists and
    duplicates (each one query for the chunk); ``earlier`` holds the numbers and unique
    values the chunks written before it by this upload store, when they may not be
    committed yet. Only rows whose number or unique value is in some finding (or
    repeats within the chunk) are visited one by one, in upload order.

    With ``seen`` (what this run stored before), only the numbers and unique values of
    rows that are rejected anyway or may clash are looked up (``suspects``); the others
    count as new, and the unique indexes object when the chunk is written if one is not.
    ``before`` holds the numbers and unique values another upload's last chunk stores,
    when it may not be committed yet (a worker that follows one job with the next).
    Also returns whether a value was found held by another upload."""
    rules = ctx.rules
    errors = {index: list(found) for index, found in chunk.errors.items()}
    if chunk.user is not None:
        by_name = user_errors(ctx, set(chunk.user))
        if by_name:
            for index, name in enumerate(chunk.user):
                if name in by_name:
                    errors.setdefault(index, []).append(by_name[name])
    numeric = chunk.numeric
    numbers = set(numeric)
    numbers.discard(None)
    uniqueid = chunk.uniqueid if chunk.uniqueid is not None else [None] * chunk.size
    ids = set() if chunk.uniqueid is None else set(uniqueid)
    ids.discard(None)
    blocked_global, blocked_here = blocked_numbers(rules.id, numbers)
    # this chunk's values that the chunks written before it store, maybe not committed
    # (by this upload, ``earlier``; by another, ``before``): taken as the chunk's first,
    # since on SQLite ``earlier`` holds every chunk written since the last commit
    earlier_numbers, earlier_ids = within(numbers, ids, earlier)
    before_numbers, before_ids = within(numbers, ids, before)
    repeated_numbers, repeated_ids = repeated(numeric), repeated(uniqueid)
    asked_numbers, asked_ids = numbers, ids
    if seen is not None:
        odd_numbers = repeated_numbers | blocked_global | blocked_here | seen.numbers.maybe(numbers)
        odd_ids = repeated_ids | seen.ids.maybe(ids)
        asked_numbers, asked_ids = suspects(
            numeric,
            uniqueid,
            errors,
            odd_numbers | earlier_numbers | before_numbers,
            odd_ids | earlier_ids | before_ids,
        )
    numbers_mine, numbers_others = existing(ctx, "numeric", asked_numbers)
    numbers_mine |= earlier_numbers
    numbers_others |= before_numbers
    number_hits = blocked_global | blocked_here | numbers_mine | repeated_numbers
    if rules.rejects_duplicates:
        number_hits |= numbers_others
    ids_mine, ids_others, id_hits = set(), set(), set()
    if chunk.uniqueid is not None:
        ids_mine, ids_others = existing(ctx, "uniqueid", asked_ids)
        ids_mine |= earlier_ids
        ids_others |= before_ids
        id_hits = ids_mine | ids_others | repeated_ids
    elsewhere = bool(ids_others or (rules.rejects_duplicates and numbers_others))
    if not number_hits and not id_hits:
        return errors, elsewhere
    unique = rules.unique_field
    seen_numbers, seen_ids = set(), set()
    for index, (number, value) in enumerate(zip(numeric, uniqueid, strict=True)):
        if number not in number_hits and value not in id_hits:
            continue
        found = errors.setdefault(index, [])
        if number is not None:
            if number in blocked_global:
                found.append(DNC_GLOBAL)
            if number in blocked_here:
                found.append(DNC_CAMPAIGN)
            if number in seen_numbers or number in numbers_mine:
                found.append(in_file("numeric"))
            elif rules.rejects_duplicates and number in numbers_others:
                found.append(in_campaign("numeric", rules.name))
        if value is not None:
            if value in seen_ids or value in ids_mine:
                found.append(in_file(unique.header))
            elif value in ids_others:
                found.append(in_campaign(unique.header, rules.name))
        if found:
            continue
        del errors[index]
        seen_numbers.add(number)
        if value is not None:
            seen_ids.add(value)
    return errors, elsewhere


def within(numbers: set, ids: set, held: tuple | None) -> tuple[set, set]:
    """The ``numbers`` and ``ids`` that ``held`` (numbers, unique values: each a set or
    a tuple of sets) holds."""
    if held is None:
        return set(), set()
    return common(numbers, held[0]), common(ids, held[1])


def common(values: set, held: set | tuple[set, ...]) -> set:
    if isinstance(held, tuple):
        return set().union(*(values & part for part in held))
    return values & held


def suspects(
    numeric: list, uniqueid: list, errors: dict, odd_numbers: set, odd_ids: set
) -> tuple[set, set]:
    """The numbers and unique values worth looking up: all those of the rows that are
    rejected already or hold an odd value (one that repeats, is blocked, may be stored
    by this run), so that a rejected row's report names every duplicate it is."""
    rows = set(errors)
    rows.update(compress(count(), map(odd_numbers.__contains__, numeric)))
    rows.update(compress(count(), map(odd_ids.__contains__, uniqueid)))
    asked_numbers = {numeric[index] for index in rows}
    asked_ids = {uniqueid[index] for index in rows}
    asked_numbers.discard(None)
    asked_ids.discard(None)
    return asked_numbers, asked_ids
