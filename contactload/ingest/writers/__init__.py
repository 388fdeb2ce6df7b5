"""The only database-vendor code: how a chunk of contacts reaches its table.

PostgreSQL streams rows with COPY (updates: COPY into a temporary table, then one
``UPDATE … FROM``); SQLite uses multi-row INSERT statements (updates: one
``executemany``). Both write in the caller's transaction and raise IntegrityError
when a unique index objects. Each vendor ``encode``s rows given column by column (a
list of values per column, in the order the columns are named; JSON already as
text) into the form it ``insert``s."""

import logging
from collections.abc import Sequence
from contextlib import contextmanager
from operator import itemgetter

from django.db import Error, IntegrityError, OperationalError, connection, transaction

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

logger = logging.getLogger("contactload.worker")

NUMERIC = CONTACT_COLUMNS.index("numeric")


def encode_contacts(columns: Sequence[Sequence]) -> object:
    """Contacts given as ``columns`` (``CONTACT_COLUMNS``) in the form the database
    takes them (PostgreSQL: COPY text), for ``insert_contacts``. It may run in another
    thread than the write, so that the writing thread only sends. In number order, so
    that concurrent writers take the unique index's locks in one order and cannot
    deadlock on it. None when there are none."""
    numbers = columns[NUMERIC]
    if not numbers:
        return None
    order = sorted(range(len(numbers)), key=numbers.__getitem__)
    return VENDORS[connection.vendor].encode(columns, order)


def insert_contacts(encoded: object) -> None:
    """Write contacts ``encode_contacts`` made ready."""
    insert_encoded(Contact, CONTACT_COLUMNS, encoded)


def insert_encoded(model, columns: Sequence[str], encoded: object) -> None:
    """Write rows the vendor's ``encode`` made (nothing for None) into ``model``'s table."""
    if encoded is not None:
        VENDORS[connection.vendor].insert(connection, model._meta.db_table, columns, encoded)


def encode_rows(rows: Sequence[tuple]) -> object:
    """Rows given as tuples, in the form the database takes them; None when there are none."""
    if not rows:
        return None
    return VENDORS[connection.vendor].encode(list(zip(*rows, strict=True)))


def update_contacts(columns: Sequence[str], rows: Sequence[tuple]) -> None:
    """Set ``columns`` of the contacts whose ids lead ``rows``, in id order."""
    if rows:
        rows = sorted(rows, key=lambda row: row[0])
        VENDORS[connection.vendor].update(connection, Contact._meta.db_table, columns, rows)


ROW_RESULT_COLUMNS = ("job_id", "row", "data", "errors")


def insert_row_results(encoded: object) -> None:
    """Write rejected rows: tuples in ``ROW_RESULT_COLUMNS`` order, JSON as text, as
    ``encode_rows`` made them (in any thread)."""
    insert_encoded(RowResult, ROW_RESULT_COLUMNS, encoded)


DNC_COLUMNS = ("numeric", "campaign_id", "active", "end_date", "created_at")


def insert_dnc_entries(rows: Sequence[tuple]) -> None:
    """Write DNC entries (tuples in ``DNC_COLUMNS`` order) with the contacts' bulk
    insert, in number order; IntegrityError when one is already listed."""
    insert_encoded(DncEntry, DNC_COLUMNS, encode_rows(sorted(rows, key=itemgetter(0))))


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


@contextmanager
def lazy_commits():
    """While the block runs, this connection's commits return before their records
    reach the disk (PostgreSQL's ``synchronous_commit``; on SQLite, with its WAL
    journal and synchronous=NORMAL, every commit already does, and the job's connection
    copies the WAL back into the database less often). A server crash may then lose
    the last such commits, each whole: a chunk's rows go with its checkpoint, and the
    job resumes after the last chunk that stayed. On PostgreSQL the next commit that
    waits for the disk (a job's end) makes every one before it durable. It saves a
    wait for the disk per chunk (3.5 ms here)."""
    vendor = VENDORS[connection.vendor]
    vendor.lazy_commits(connection, True)
    try:
        yield
    finally:
        try:
            vendor.lazy_commits(connection, False)
        except Error:  # a broken connection: its settings go with it
            logger.warning("could not restore synchronous commits", exc_info=True)


def durable_commit() -> None:
    """This transaction's commit waits for the disk, inside ``lazy_commits`` too (and
    makes every lazy commit before it durable)."""
    VENDORS[connection.vendor].durable_commit(connection)


@contextmanager
def short_write():
    """A transaction (``transaction.atomic``) that a job's long writes make way for until
    it has committed and run its ``on_commit`` callbacks (which write too: the
    enqueueing of a job). Any transaction takes its turn ahead of a running job from
    its start to its commit (on SQLite: ``contactload.sqlite``); this one keeps it
    through its callbacks."""
    with VENDORS[connection.vendor].waiting_for_lock(connection), transaction.atomic():
        yield


@contextmanager
def turns_taken(taken: bool):
    """Whether this connection's writes take their turn ahead of a running job's in the
    block (SQLite: ``contactload.sqlite``; elsewhere nobody waits for a turn). A job's
    own take none: it holds the write lock from chunk to chunk and lets the others in
    (``make_way``), and would stand aside for itself. Nor do a worker's polls of the
    queue: on SQLite, jobs take the lock one after the other, and a poll every 0.1 s
    would make a running job commit after every chunk."""
    before = getattr(connection, "takes_turns", True)
    connection.takes_turns = taken
    try:
        yield
    finally:
        connection.takes_turns = before


def make_way() -> None:
    """Between two of a job's transactions: short writes waiting for the lock go first;
    returns once they are through (SQLite)."""
    if not connection.in_atomic_block:
        VENDORS[connection.vendor].let_in(connection)  # (at once when nobody waits)


def others_waiting() -> bool:
    """Whether short writes wait for the lock this job holds (SQLite)."""
    return VENDORS[connection.vendor].others_waiting(connection)


def follows() -> bool:
    """Whether a worker follows its job with the next one queued (SQLite: no. Measured
    before acceptances were let in between chunks, they waited for the whole stream;
    not measured since)."""
    return VENDORS[connection.vendor].FOLLOWS


def group_rows() -> int:
    """Rows of an insert written before a commit (0: each chunk commits on its own)."""
    return VENDORS[connection.vendor].group_rows()


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
