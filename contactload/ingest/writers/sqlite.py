"""SQLite writer: multi-row ``INSERT … VALUES`` statements (updates: one
``executemany``) in the caller's transaction."""

import sqlite3
from collections.abc import Sequence
from contextlib import closing
from itertools import chain

from django.conf import settings

# SQLite works in the worker's own process, and lets go of the interpreter lock for
# each step of a statement. ``executemany`` steps once a row: with a thread checking
# rows meanwhile, every row waited for the interpreter (measured: 356 us a row instead
# of 9). A multi-row INSERT is one step for hundreds of rows, so the next chunk is
# checked while this one is written (15 us a row beside a busy thread, 9 alone).
# Updates still go row by row, one chunk at a time.
OVERLAPS = {"insert": True, "update": False}


def encode(columns: Sequence[Sequence], order: Sequence[int] | None = None) -> tuple[int, list]:
    """Rows given column by column, as (row count, every row's values one after
    another); the rows in ``order`` (positions) when it is given."""
    if order is not None:
        columns = [list(map(column.__getitem__, order)) for column in columns]
    # (each row's tuple is freed as soon as it is read: none piles up for the collector)
    return len(columns[0]), list(chain.from_iterable(zip(*columns, strict=True)))


def insert(connection, table: str, names: Sequence[str], encoded: tuple[int, list]) -> None:
    """Write the rows ``encode`` made into ``table``."""
    count, values = encoded
    width = len(names)
    quoted = ", ".join(f'"{name}"' for name in names)
    row = "(" + ", ".join("?" for _ in names) + ")"
    # as many rows as the statement may hold variables (32,766 since SQLite 3.32)
    connection.ensure_connection()
    size = connection.connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER) // width
    # sqlite3's own cursor, with its own placeholders: Django's would rewrite each long
    # statement's "%s" with a regex, holding the interpreter lock. Its errors are
    # wrapped into Django's (IntegrityError) here.
    with connection.wrap_database_errors, closing(connection.connection.cursor()) as cursor:
        for start in range(0, count, size):
            rows = min(size, count - start)
            sql = f'INSERT INTO "{table}" ({quoted}) VALUES ' + ", ".join([row] * rows)
            cursor.execute(sql, values[start * width : (start + rows) * width])


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
