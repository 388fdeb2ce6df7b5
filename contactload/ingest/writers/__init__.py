"""The only database-vendor code: how a chunk of contacts reaches its table.

PostgreSQL streams rows with COPY (updates: COPY into a temporary table, then one
``UPDATE … FROM``); SQLite uses one ``executemany``. Both write in
the caller's transaction and raise IntegrityError when a unique index objects.
Rows are tuples in ``CONTACT_COLUMNS`` order, JSON already as text."""

from collections.abc import Iterable, Sequence

from django.db import IntegrityError, OperationalError, connection

from contactload.ingest.writers import postgresql, sqlite
from contactload.models import Contact, DncEntry, RowResult

CONTACT_COLUMNS = (
    "campaign_id",
    "phonebook_id",
    "numeric",
    "dedupe_key",
    "user_id",
    "first_name",
    "last_name",
    "email",
    "priority",
    "alt_numeric",
    "status",
    "uniqueid",
    "customer_raw_data",
    "created_at",
    "updated_at",
)

VENDORS = {"postgresql": postgresql, "sqlite": sqlite}

NUMERIC = CONTACT_COLUMNS.index("numeric")


def insert_contacts(rows: Sequence[tuple]) -> None:
    """Write ``rows``; in number order, so that concurrent writers take the unique
    index's locks in one order and cannot deadlock on it."""
    if rows:
        rows = sorted(rows, key=lambda row: row[NUMERIC])
        VENDORS[connection.vendor].insert(connection, Contact._meta.db_table, CONTACT_COLUMNS, rows)


def update_contacts(columns: Sequence[str], rows: Sequence[tuple]) -> None:
    """Set ``columns`` of the contacts whose ids lead ``rows``, in id order."""
    if rows:
        rows = sorted(rows, key=lambda row: row[0])
        VENDORS[connection.vendor].update(connection, Contact._meta.db_table, columns, rows)


ROW_RESULT_COLUMNS = ("job_id", "row", "data", "errors")


def insert_row_results(rows: Iterable[tuple]) -> None:
    """Write rejected rows (tuples in ``ROW_RESULT_COLUMNS`` order, JSON as text)."""
    rows = list(rows)
    if rows:
        VENDORS[connection.vendor].insert(
            connection, RowResult._meta.db_table, ROW_RESULT_COLUMNS, rows
        )


DNC_COLUMNS = ("numeric", "campaign_id", "active", "end_date", "created_at")


def insert_dnc_entries(rows: Sequence[tuple]) -> None:
    """Write DNC entries (tuples in ``DNC_COLUMNS`` order) with the contacts' bulk
    insert, in number order; IntegrityError when one is already listed."""
    if rows:
        rows = sorted(rows, key=lambda row: row[0])
        VENDORS[connection.vendor].insert(connection, DncEntry._meta.db_table, DNC_COLUMNS, rows)


def campaign_holders(campaign_id: int, column: str, values: set[str]) -> list[tuple[str, int]]:
    """(value, phonebook id) of the campaign's contacts whose ``column`` holds one of
    ``values``: one index probe per value, whatever the table's statistics say."""
    if not values:
        return []
    return VENDORS[connection.vendor].holders(
        connection, Contact._meta.db_table, campaign_id, column, sorted(values)
    )


def dnc_listed(campaign_id: int, numbers: set[str], today) -> list[tuple[str, int | None]]:
    """(number, campaign id or None) of the active DNC entries, global or of the campaign,
    that list one of ``numbers`` on ``today``."""
    if not numbers:
        return []
    return VENDORS[connection.vendor].listed(
        connection,
        DncEntry._meta.db_table,
        campaign_id,
        sorted(numbers),
        connection.ops.adapt_datefield_value(today),
    )


def overlaps(action: str) -> bool:
    """Whether the next chunk of an ``action`` ("insert", "update") may be checked
    while this one is written: the database works in a process of its own, or lets
    go of the interpreter lock for long enough."""
    return VENDORS[connection.vendor].OVERLAPS[action]


def lost_race(exc: Exception) -> bool:
    """Whether a failed write collided with a concurrent one and may simply be retried:
    a unique index objected, or the database chose this transaction as a deadlock
    or serialization victim."""
    if isinstance(exc, IntegrityError):
        return True
    return isinstance(exc, OperationalError) and VENDORS[connection.vendor].is_contention(exc)
