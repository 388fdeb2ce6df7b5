"""SQLite writer: multi-row ``INSERT … SELECT … FROM (VALUES …)`` statements, a value
that every row shares bound once (updates: one ``executemany``), in the caller's
transaction."""

import functools
import sqlite3
from collections.abc import Sequence
from contextlib import closing
from dataclasses import dataclass
from itertools import chain

from django.conf import settings

from contactload.sqlite import turns

# SQLite works in the worker's own process, and lets go of the interpreter lock for
# each step of a statement. ``executemany`` steps once a row: with a thread checking
# rows meanwhile, every row waited for the interpreter (measured: 356 us a row instead
# of 9). A multi-row INSERT is one step for hundreds of rows, so the next chunk is
# checked while this one is written (15 us a row beside a busy thread, 9 alone).
# Updates still go row by row, one chunk at a time.
OVERLAPS = {"insert": True, "update": False}
FOLLOWS = False


def group_rows() -> int:
    """A commit writes every page it dirtied to the WAL again; each chunk of a large
    upload dirties most leaf pages of the two number indexes. Measured with 1M contacts
    in 10,000-row commits: 99k rows/s; in 50,000-row commits: 140k; in one: 164k. The
    worker at 1M rows: 63k rows/s in 10,000-row commits, 69k in 50,000, 77k in 100,000
    (``CONTACTLOAD_SQLITE_COMMIT_ROWS``)."""
    return settings.CONTACTLOAD_SQLITE_COMMIT_ROWS


# types whose equal values are the same value (an int may equal a bool or a float)
CONSTANT_TYPES = (str, int, type(None))


@dataclass(frozen=True, slots=True)
class Rows:
    """Rows as ``encode`` makes them: a value that every row shares (a campaign, a
    timestamp, a status) is bound once per statement, and a column given twice (the
    same list: a contact's number and its duplicate key) once per row."""

    count: int
    layout: tuple[int, ...]  # per column: a shared value (< 0: ~index) or a row's value
    shared: list  # the values every row shares, in the order of ``layout``
    values: list  # the other values, row after row
    width: int  # values per row in ``values``


def shared_value(column: Sequence) -> bool:
    """Whether every value of ``column`` is the same (not merely equal: True == 1)."""
    if not column:
        return False
    first = column[0]
    return (
        type(first) in CONSTANT_TYPES
        and column[-1] == first
        and column.count(first) == len(column)
        and (type(first) is not int or set(map(type, column)) == {int})
    )


def encode(columns: Sequence[Sequence], order: Sequence[int] | None = None) -> Rows:
    """Rows given column by column; the rows in ``order`` (positions) when it is given."""
    layout, shared, varying, slots = [], [], [], {}
    for column in columns:
        slot = slots.get(id(column))
        if slot is None:
            if shared_value(column):
                layout.append(~len(shared))
                shared.append(column[0])
                continue
            slot = slots[id(column)] = len(varying)
            varying.append(column)
        layout.append(slot)
    if not varying:  # every column shared (a single row): each value in its row
        layout, shared, varying = list(range(len(columns))), [], list(columns)
    if order is not None:
        varying = [list(map(column.__getitem__, order)) for column in varying]
    # (each row's tuple is freed as soon as it is read: none piles up for the collector)
    values = list(chain.from_iterable(zip(*varying, strict=True)))
    return Rows(len(columns[0]), tuple(layout), shared, values, len(varying))


def insert(connection, table: str, names: Sequence[str], rows: Rows) -> None:
    """Write the rows ``encode`` made into ``table``: statements of as many rows as
    their parameters allow, and the rest in statements of 2**k rows, so that each
    statement's text is made (and prepared by SQLite) once per connection."""
    connection.ensure_connection()
    limit = connection.connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
    width, shared, names = rows.width, rows.shared, tuple(names)
    most = (limit - len(shared)) // width
    # sqlite3's own cursor, with its own placeholders: Django's would rewrite each long
    # statement's "%s" with a regex, holding the interpreter lock. Its errors are
    # wrapped into Django's (IntegrityError) here.
    with connection.wrap_database_errors, closing(connection.connection.cursor()) as cursor:
        start = 0
        while start < rows.count:
            left = rows.count - start
            size = most if left >= most else 1 << (left.bit_length() - 1)
            sql = statement(table, names, rows.layout, width, size)
            cursor.execute(sql, shared + rows.values[start * width : (start + size) * width])
            start += size


@functools.lru_cache(maxsize=256)
def statement(table: str, names: tuple[str, ...], layout: tuple[int, ...], width: int, rows: int):
    """``INSERT … SELECT`` of ``rows`` rows of ``width`` values, the shared values bound
    once in the select list (its "?" come first), the rows' in a ``VALUES`` list (its
    columns are column1, column2, …). Anonymous "?" only: SQLite reads a numbered one
    in a time that grows with the statement's parameters (a statement of 30,000 took
    0.16 s to prepare, against 2 ms)."""
    quoted = ", ".join(f'"{name}"' for name in names)
    select = ", ".join("?" if slot < 0 else f"column{slot + 1}" for slot in layout)
    row = "(" + ", ".join(["?"] * width) + ")"
    return (
        f'INSERT INTO "{table}" ({quoted}) SELECT {select} FROM (VALUES '
        + ", ".join([row] * rows)
        + ")"
    )


def update(connection, table: str, columns: Sequence[str], rows: Sequence[tuple]) -> None:
    """``rows`` are (id, *columns)."""
    assignments = ", ".join(f'"{column}" = %s' for column in columns)
    with connection.cursor() as cursor:
        cursor.executemany(
            f'UPDATE "{table}" SET {assignments} WHERE "id" = %s',
            [(*row[1:], row[0]) for row in rows],
        )


# While a job runs, its connection copies the WAL back into the database once per GiB of
# it, not once per 64 MiB: each chunk's commit adds again the index pages it touched, and
# a copy every 64 MiB cost a quarter of the writing thread's time (1.57 s of 5.95 at 400k
# rows, against 0.77 s with this). The job's end copies the rest, before it completes.
JOB_WAL_AUTOCHECKPOINT = 262_144  # pages (1 GiB)


def lazy_commits(connection, lazy: bool) -> None:
    """A commit never waits for the disk here already (the WAL journal, synchronous=NORMAL:
    the journal is synced at checkpoints); a job's connection checkpoints less often."""
    with connection.cursor() as cursor:
        if lazy:
            cursor.execute(f"PRAGMA wal_autocheckpoint={JOB_WAL_AUTOCHECKPOINT}")
        else:
            cursor.execute(f"PRAGMA wal_autocheckpoint={settings.SQLITE_WAL_AUTOCHECKPOINT}")
            if not connection.in_atomic_block:  # (a transaction's connection cannot)
                cursor.execute("PRAGMA wal_checkpoint(PASSIVE)")  # (waits for no reader)


def durable_commit(connection) -> None:
    """Nothing to do: commits never wait for the disk here (see ``lazy_commits``)."""


def holders(connection, table: str, campaign_id: int, column: str, values: list[str]) -> list:
    """SQLite plans ``IN`` on the (campaign_id, column) index."""
    return in_batches(
        connection,
        f'SELECT "{column}", "phonebook_id" FROM "{table}" '
        f'WHERE "campaign_id" = %s AND "{column}" IN ({{marks}})',
        [campaign_id],
        values,
    )


def listed(connection, table: str, campaign_id: int, numbers: list[str], today) -> list:
    return in_batches(
        connection,
        f'SELECT "numeric", "campaign_id" FROM "{table}" WHERE "active" '
        f'AND ("campaign_id" IS NULL OR "campaign_id" = %s) '
        f'AND ("end_date" IS NULL OR "end_date" >= %s) AND "numeric" IN ({{marks}})',
        [campaign_id, today],
        numbers,
    )


def in_batches(connection, sql: str, params: list, values: list, size: int = 30_000) -> list:
    """Rows of ``sql`` (its ``{marks}`` an ``IN`` list) for ``values``, batched under
    SQLite's limit on query variables."""
    found = []
    with connection.cursor() as cursor:
        for start in range(0, len(values), size):
            batch = values[start : start + size]
            cursor.execute(sql.format(marks=", ".join("%s" for _ in batch)), [*params, *batch])
            found += cursor.fetchall()
    return found


def is_contention(exc: Exception) -> bool:
    return "database is locked" in str(exc)


def waiting_for_lock(connection):
    """While the block waits for the write lock and writes, a job stands aside (from
    its next chunk on): ``contactload.sqlite.turns``."""
    return turns.waiting(connection.settings_dict["NAME"])


def others_waiting(connection) -> bool:
    return turns.others_waiting(connection.settings_dict["NAME"])


def let_in(connection) -> None:
    turns.let_in(connection.settings_dict["NAME"])
