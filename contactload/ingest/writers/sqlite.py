"""SQLite writer: one ``executemany`` in the caller's transaction."""

from collections.abc import Sequence

# SQLite works in the worker's own process, and lets go of the interpreter lock around
# every row it steps through: a thread checking rows meanwhile would slow every one of
# those steps (measured: 31 us a row instead of 8). Chunks are handled one at a time.
OVERLAPS = False


def insert(connection, table: str, columns: Sequence[str], rows: Sequence[tuple]) -> None:
    names = ", ".join(f'"{column}"' for column in columns)
    marks = ", ".join("%s" for _ in columns)
    with connection.cursor() as cursor:
        cursor.executemany(f'INSERT INTO "{table}" ({names}) VALUES ({marks})', rows)


def update(connection, table: str, columns: Sequence[str], rows: Sequence[tuple]) -> None:
    """``rows`` are (id, *columns)."""
    assignments = ", ".join(f'"{column}" = %s' for column in columns)
    with connection.cursor() as cursor:
        cursor.executemany(
            f'UPDATE "{table}" SET {assignments} WHERE "id" = %s',
            [(*row[1:], row[0]) for row in rows],
        )


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
