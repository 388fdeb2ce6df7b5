"""PostgreSQL writer: COPY FROM STDIN through psycopg 3."""

from collections.abc import Sequence


def insert(connection, table: str, columns: Sequence[str], rows: Sequence[tuple]) -> None:
    names = ", ".join(f'"{column}"' for column in columns)
    # cursor.copy bypasses Django's wrapper: wrap psycopg's errors into Django's
    # (IntegrityError, OperationalError) ourselves.
    with (
        connection.wrap_database_errors,
        connection.cursor() as cursor,
        cursor.copy(f'COPY "{table}" ({names}) FROM STDIN') as copy,
    ):
        for row in rows:
            copy.write_row(row)


# deadlock_detected, serialization_failure
CONTENTION = {"40P01", "40001"}


def is_contention(exc: Exception) -> bool:
    return getattr(exc.__cause__, "sqlstate", None) in CONTENTION
