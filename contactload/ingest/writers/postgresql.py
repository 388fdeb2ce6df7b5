"""PostgreSQL writer: COPY FROM STDIN through psycopg 3."""

import re
from collections.abc import Sequence
from contextlib import contextmanager

import orjson

# A server does a chunk's work in its own process: the worker checks rows meanwhile.
OVERLAPS = {"insert": True, "update": True}
FOLLOWS = True


def group_rows() -> int:
    """A chunk's commit costs little here: each chunk commits on its own."""
    return 0


# A list of values travels as one JSON text parameter: orjson writes it and the
# server reads it, both in C, where a text array is escaped value by value in Python.
VALUES = "jsonb_array_elements_text(%s::jsonb)"


def json_array(values: list[str]) -> str:
    return orjson.dumps(values).decode()


def insert(connection, table: str, names: Sequence[str], data: bytes) -> None:
    """Write ``data`` (``encode``'s COPY text of the rows) into ``table``."""
    quoted = ", ".join(f'"{name}"' for name in names)
    # cursor.copy bypasses Django's wrapper: wrap psycopg's errors into Django's
    # (IntegrityError, OperationalError) ourselves.
    with (
        connection.wrap_database_errors,
        connection.cursor() as cursor,
        cursor.copy(f'COPY "{table}" ({quoted}) FROM STDIN') as copy,
    ):
        copy.write(data)


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
            copy.write(encode(list(zip(*rows, strict=True))))
        cursor.execute(f'UPDATE "{table}" t SET {assignments} FROM "{scratch}" s WHERE t.id = s.id')
        cursor.execute(f'DROP TABLE "{scratch}"')


# COPY's text format (https://www.postgresql.org/docs/current/sql-copy.html), written
# a column at a time with C-level joins: psycopg's ``write_row`` formats it a row at
# a time in Python (1.5 us a row, as much as every rule of a row together). Escaped as
# psycopg escapes it.
NULL = "\\N"
SPECIAL = re.compile(r"[\b\t\n\v\f\r\\]")
ESCAPES = str.maketrans(
    {"\b": "\\b", "\t": "\\t", "\n": "\\n", "\v": "\\v", "\f": "\\f", "\r": "\\r", "\\": "\\\\"}
)


def encode(columns: Sequence[Sequence], order: Sequence[int] | None = None) -> bytes:
    """Rows given column by column, as COPY text: a line per row, tab-separated; the
    rows in ``order`` (positions) when it is given."""
    cells = [column_text(column) for column in columns]
    lines = list(map("\t".join, zip(*cells, strict=True)))
    if order is not None:
        lines = list(map(lines.__getitem__, order))
    lines.append("")  # the last line's end
    return "\n".join(lines).encode()


NONE = type(None)


def column_text(values: Sequence) -> list[str]:
    """One column's values as COPY text: NULL for None, text escaped, booleans as t/f,
    anything else (numbers, dates) as ``str`` gives it, which the server reads. A value
    that repeats is written once."""
    kinds = set(map(type, values))
    if bool not in kinds or len(kinds) == 1:  # (True == 1: one or the other in a set)
        distinct = set(values)
        if 4 * len(distinct) <= len(values):
            texts = {value: cell_text(value) for value in distinct}
            return list(map(texts.__getitem__, values))
    if kinds <= {int}:
        return list(map(str, values))
    if kinds == {str}:
        return escaped(values)
    return list(map(cell_text, values))


def cell_text(value: object) -> str:
    if value is None:
        return NULL
    if type(value) is bool:
        return "t" if value else "f"
    text = value if type(value) is str else str(value)
    return text.translate(ESCAPES) if SPECIAL.search(text) else text


def escaped(texts: Sequence[str]) -> list[str]:
    """Texts with COPY's special characters escaped."""
    joined = "".join(texts)
    if "\\" not in joined and joined.isprintable():  # (the special ones are not)
        return list(texts)
    return list(map(cell_text, texts))


def lazy_commits(connection, lazy: bool) -> None:
    """For the session (a SET in a transaction that rolls back is undone with it)."""
    with connection.cursor() as cursor:
        cursor.execute("SET synchronous_commit TO OFF" if lazy else "RESET synchronous_commit")


def durable_commit(connection) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL synchronous_commit TO ON")


@contextmanager
def waiting_for_lock(connection):
    """Nothing to do: writers wait for rows, not for the database."""
    yield


def others_waiting(connection) -> bool:
    return False


def let_in(connection) -> None:
    """Nothing to do (see ``waiting_for_lock``)."""


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
