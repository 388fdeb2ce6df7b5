"""SQLite writer: one ``executemany`` in the caller's transaction."""

from collections.abc import Sequence


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
    """SQLite plans ``IN`` on the (campaign_id, column) index; batched under its
    limit on query variables."""
    found = []
    with connection.cursor() as cursor:
        for start in range(0, len(values), 30_000):
            batch = values[start : start + 30_000]
            marks = ", ".join("%s" for _ in batch)
            cursor.execute(
                f'SELECT "{column}", "phonebook_id" FROM "{table}" '
                f'WHERE "campaign_id" = %s AND "{column}" IN ({marks})',
                [campaign_id, *batch],
            )
            found += cursor.fetchall()
    return found


def is_contention(exc: Exception) -> bool:
    return "database is locked" in str(exc)
