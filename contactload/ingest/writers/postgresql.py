"""PostgreSQL writer: COPY FROM STDIN through psycopg 3."""

from collections.abc import Sequence

import orjson

# A server does a chunk's work in its own process: the worker checks rows meanwhile.
OVERLAPS = {"insert": True, "update": True}


# A list of values travels as one JSON text parameter: orjson writes it and the
# server reads it, both in C, where a text array is escaped value by value in Python.
VALUES = "jsonb_array_elements_text(%s::jsonb)"


def json_array(values: list[str]) -> str:
    return orjson.dumps(values).decode()


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


def update(connection, table: str, columns: Sequence[str], rows: Sequence[tuple]) -> None:
    """``rows`` are (id, *columns): COPY them into a scratch table shaped like ``table``,
    then change every listed contact with one UPDATE."""
    scratch = "contactload_update_scratch"
    names = ", ".join(f'"{column}"' for column in columns)
    assignments = ", ".join(f'"{column}" = s."{column}"' for column in columns)
    with connection.wrap_database_errors, connection.cursor() as cursor:
        cursor.execute(
            f'CREATE TEMP TABLE "{scratch}" ON COMMIT DROP AS '
            f'SELECT "id", {names} FROM "{table}" WITH NO DATA'
        )
        with cursor.copy(f'COPY "{scratch}" ("id", {names}) FROM STDIN') as copy:
            for row in rows:
                copy.write_row(row)
        cursor.execute(f'UPDATE "{table}" t SET {assignments} FROM "{scratch}" s WHERE t.id = s.id')
        cursor.execute(f'DROP TABLE "{scratch}"')


def holders(connection, table: str, campaign_id: int, column: str, values: list[str]) -> list:
    """One parameter and a LATERAL probe per value (OFFSET 0 keeps the planner from
    turning it into a scan of the campaign's whole index when statistics are stale,
    as they are for a new campaign's first big upload)."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT v.value, c.phonebook_id FROM {VALUES} AS v(value) "
            f'CROSS JOIN LATERAL (SELECT "phonebook_id" FROM "{table}" '
            f'WHERE "campaign_id" = %s AND "{column}" = v.value OFFSET 0) AS c',
            [json_array(values), campaign_id],
        )
        return cursor.fetchall()


def listed(connection, table: str, campaign_id: int, numbers: list[str], today) -> list:
    with connection.cursor() as cursor:
        cursor.execute(
            f'SELECT "numeric", "campaign_id" FROM "{table}" '
            f'WHERE "numeric" = ANY(ARRAY(SELECT * FROM {VALUES})) '
            'AND "active" AND ("campaign_id" IS NULL OR "campaign_id" = %s) '
            'AND ("end_date" IS NULL OR "end_date" >= %s)',
            [json_array(numbers), campaign_id, today],
        )
        return cursor.fetchall()


# deadlock_detected, serialization_failure
CONTENTION = {"40P01", "40001"}


def is_contention(exc: Exception) -> bool:
    return getattr(exc.__cause__, "sqlstate", None) in CONTENTION
