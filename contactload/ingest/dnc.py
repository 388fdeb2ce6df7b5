"""Do-Not-Call lists (CONTRACT 5.4): ``add_entries`` / ``remove_entries`` take a request
body and apply all of it in one transaction, or nothing and raise the DncError of the
first problem (checked in this order: structure, campaigns, permission, numbers, lists).
Adding an active entry marks the list's not-yet-dialled contacts ``Dnc``; removing an
entry leaves contacts alone (a ``Dnc`` status may equally come from the dialer)."""

from collections import defaultdict
from dataclasses import dataclass

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from contactload import errors
from contactload.access import reachable_campaigns, role_of
from contactload.ingest import writers
from contactload.ingest.envelope import parse_json
from contactload.ingest.phones import canonical
from contactload.models import Campaign, Contact, DncEntry, Role

ADDED = "Data processed successfully"
REMOVED = "DNC numbers removed successfully"
NOT_DIALED, DNC = "NotDialed", "Dnc"
BATCH = 20_000  # numbers per IN (...): well inside SQLite's 32,766 variables
GLOBAL, CAMPAIGN, EVERY = "global", "campaign", "every"  # an item's scope
FLAGS = {"true": True, "false": False}
STATUSES = {"active": True, "inactive": False}


class DncError(errors.UploadError):
    """A request problem of the DNC API, rendered as ``{"detail": message}``."""

    template = "{}"

    def __init__(self, *args):
        super().__init__(self.template.format(*args))


class InvalidItem(DncError):
    code, template = "invalid_item", "Invalid item {}: {}"


class UnknownCampaign(DncError):
    code, template = "campaign_not_present", "Campaign {} is not Present"


class InvalidNumber(DncError):
    code, template = "invalid_number", "Invalid number {} at item {}"


class ConflictingItems(DncError):
    code = "conflicting_items"
    template = "DNC number {} is given twice for one list with different status (items {} and {})"


class AlreadyExists(DncError):
    code, status, template = "dnc_exists", 409, "DNC number {} already exists."


class DoesNotExist(DncError):
    code, status, template = "dnc_not_found", 404, "DNC number {} does not exist."


class TooManyItems(DncError):
    code, status, template = "too_many_items", 413, "Too many items: {} (limit {})"


@dataclass(frozen=True, slots=True)
class Item:
    index: int  # 1-based position in the request
    numeric: str  # as sent: error messages quote it
    scope: str  # GLOBAL, CAMPAIGN or (removals only) EVERY
    campaign: str  # the campaign's name when scope is CAMPAIGN
    active: bool


def parse_items(data: object, *, removing: bool, max_items: int) -> list[Item]:
    """The request's items, pure; raises on the first malformed one."""
    if not isinstance(data, list) or not data or not all(isinstance(i, dict) for i in data):
        raise errors.InvalidStructure()
    if len(data) > max_items:
        raise TooManyItems(len(data), max_items)
    return [parse_item(raw, index, removing) for index, raw in enumerate(data, start=1)]


def parse_item(raw: dict, index: int, removing: bool) -> Item:
    numeric = raw.get("numeric")
    if type(numeric) is int:
        numeric = str(numeric)
    if not isinstance(numeric, str) or not numeric.strip():
        raise InvalidItem(index, "numeric must be a non-empty string")
    campaign = raw.get("campaign")
    if not isinstance(campaign, str | None):
        raise InvalidItem(index, "campaign must be a campaign name or empty")
    campaign = (campaign or "").strip()
    flag = raw.get("global_dnc")
    is_global = flag if isinstance(flag, bool) else FLAGS.get(str(flag).lower())
    if flag is not None and (is_global is None or not isinstance(flag, bool | str)):
        raise InvalidItem(index, 'global_dnc must be "true" or "false"')
    if is_global and campaign:
        raise InvalidItem(index, "a global_dnc entry names no campaign")
    if is_global is False and not campaign:
        raise InvalidItem(index, 'campaign is required unless global_dnc is "true"')
    status = raw.get("status") or "Active"
    active = STATUSES.get(status.lower()) if isinstance(status, str) else None
    if active is None and not removing:
        raise InvalidItem(index, 'status must be "Active" or "Inactive"')
    # Neither a campaign nor global_dnc: the global list, or (removing) every list.
    scope = CAMPAIGN if campaign else GLOBAL if is_global or not removing else EVERY
    return Item(index, numeric, scope, campaign, bool(active))


def find_campaigns(items: list[Item]) -> dict[str, Campaign]:
    names = {item.campaign for item in items if item.scope == CAMPAIGN}
    # No campaign name holds a NUL, and PostgreSQL refuses one in a query.
    names = [name for name in names if "\x00" not in name]
    found = {c.name: c for c in Campaign.objects.filter(name__in=names).only("name", "country")}
    for item in items:
        if item.scope == CAMPAIGN and item.campaign not in found:
            raise UnknownCampaign(item.campaign)
    return found


def check_reach(user, items: list[Item], campaigns: dict[str, Campaign]) -> set[int] | None:
    """The ids of the campaigns whose lists ``user`` may change (None: every list,
    the global one included); Forbidden when an item names a list beyond them."""
    role = role_of(user)
    if role == Role.ADMIN:
        return None
    if role != Role.MANAGER:
        raise errors.Forbidden()
    reach = set(reachable_campaigns(user).values_list("pk", flat=True))
    for item in items:
        if item.scope == GLOBAL or (
            item.scope == CAMPAIGN and campaigns[item.campaign].pk not in reach
        ):
            raise errors.Forbidden()
    return reach


def keyed(items: list[Item], campaigns: dict[str, Campaign]) -> dict[tuple, Item]:
    """Items by (list, canonical number), where the list is a campaign id, None (the
    global list) or EVERY; spellings of one number on one list collapse to the first."""
    default = settings.CONTACTLOAD_DEFAULT_COUNTRY
    wanted: dict[tuple, Item] = {}
    for item in items:
        campaign = campaigns.get(item.campaign)
        number = canonical(item.numeric, campaign.country if campaign else default)
        if number is None:
            raise InvalidNumber(item.numeric, item.index)
        key = (campaign.pk if campaign else None if item.scope == GLOBAL else EVERY, number)
        first = wanted.setdefault(key, item)
        if first.active != item.active:
            raise ConflictingItems(item.numeric, first.index, item.index)
    return wanted


def batches(values: list) -> list[list]:
    return [values[start : start + BATCH] for start in range(0, len(values), BATCH)]


def listed(numbers: set[str]) -> list[tuple[int, str, int | None]]:
    """(id, number, campaign id) of every entry of ``numbers``, on any list."""
    return [
        entry
        for batch in batches(sorted(numbers))
        for entry in DncEntry.objects.filter(numeric__in=batch).values_list(
            "pk", "numeric", "campaign_id"
        )
    ]


def add_entries(*, user, body: bytes) -> str:
    items = parse_items(
        parse_json(body), removing=False, max_items=settings.CONTACTLOAD_MAX_DNC_ITEMS
    )
    campaigns = find_campaigns(items)
    check_reach(user, items, campaigns)
    wanted = keyed(items, campaigns)
    try:
        add_all(wanted)
    except DatabaseError as exc:  # a concurrent request listed a number first: look again
        if not writers.lost_race(exc):
            raise
        add_all(wanted)
    return ADDED


def add_all(wanted: dict[tuple, Item]) -> None:
    numbers = {number for _, number in wanted}
    taken = [wanted[(c, n)] for _, n, c in listed(numbers) if (c, n) in wanted]
    if taken:
        raise AlreadyExists(min(taken, key=lambda item: item.index).numeric)
    with transaction.atomic():  # (on SQLite, a job running stands aside: the backend)
        write_entries(wanted)
        mark_contacts(wanted)


def write_entries(wanted: dict[tuple, Item]) -> None:
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    writers.insert_dnc_entries(
        [(number, scope, item.active, None, now) for (scope, number), item in wanted.items()]
    )


def mark_contacts(wanted: dict[tuple, Item]) -> None:
    """Active entries take their numbers' not-yet-dialled contacts out of dialling:
    a campaign's entry in that campaign, a global entry in every campaign."""
    numbers_by_list = defaultdict(list)
    for (scope, number), item in wanted.items():
        if item.active:
            numbers_by_list[scope].append(number)
    now = timezone.now()
    for scope, numbers in numbers_by_list.items():
        contacts = Contact.objects.filter(status=NOT_DIALED)
        if scope is not None:
            contacts = contacts.filter(campaign_id=scope)
        for batch in batches(numbers):
            contacts.filter(numeric__in=batch).update(status=DNC, updated_at=now)


def remove_entries(*, user, body: bytes) -> str:
    """An item naming a campaign leaves that campaign's list; one with ``global_dnc``
    "true" the global list; one with neither every list the caller may change (its
    number read in the default country). Any item matching nothing: nothing removed."""
    items = parse_items(
        parse_json(body), removing=True, max_items=settings.CONTACTLOAD_MAX_DNC_ITEMS
    )
    campaigns = find_campaigns(items)
    reach = check_reach(user, items, campaigns)
    wanted = keyed(items, campaigns)
    doomed, matched = set(), set()
    for pk, number, campaign_id in listed({number for _, number in wanted}):
        if (campaign_id, number) in wanted:
            doomed.add(pk)
            matched.add((campaign_id, number))
        if (EVERY, number) in wanted and (reach is None or campaign_id in reach):
            doomed.add(pk)
            matched.add((EVERY, number))
    for key, item in wanted.items():  # in request order
        if key not in matched:
            raise DoesNotExist(item.numeric)
    with transaction.atomic():  # (on SQLite, a job running stands aside: the backend)
        for batch in batches(sorted(doomed)):
            DncEntry.objects.filter(pk__in=batch).delete()
    return REMOVED
