"""The SQLite writer binds a value every row shares once per statement and a column
given twice once per row (``INSERT … SELECT … FROM (VALUES …)``), and splits a long
write into statements of a few fixed sizes. Checked on an in-memory SQLite database in both
passes: what is read back must be exactly the rows given."""

import pytest
from django.db import IntegrityError
from django.db.backends.sqlite3.base import DatabaseWrapper

from contactload.ingest.writers import sqlite

MEMORY = {
    "ENGINE": "django.db.backends.sqlite3",
    "NAME": ":memory:",
    "OPTIONS": {},
    "TIME_ZONE": None,
    "AUTOCOMMIT": True,
    "ATOMIC_REQUESTS": False,
    "CONN_MAX_AGE": 0,
    "CONN_HEALTH_CHECKS": False,
    "USER": "",
    "PASSWORD": "",
    "HOST": "",
    "PORT": "",
    "TEST": {},
}
NAMES = ("campaign", "number", "key", "name", "flag", "note", "made")


@pytest.fixture
def memory(django_db_blocker):
    """A database of its own, whatever the suite's database is (not the test database:
    pytest-django is told this one is allowed)."""
    with django_db_blocker.unblock():
        wrapper = DatabaseWrapper(MEMORY, alias="writers-test")
        wrapper.ensure_connection()
        with wrapper.cursor() as cursor:
            cursor.execute(
                "CREATE TABLE t (id INTEGER PRIMARY KEY, campaign, number UNIQUE, key, name, "
                "flag, note, made)"
            )
        yield wrapper
        wrapper.close()


def stored(memory) -> list[tuple]:
    with memory.cursor() as cursor:
        cursor.execute(f"SELECT {', '.join(NAMES)}, typeof(flag) FROM t ORDER BY id")
        return cursor.fetchall()


@pytest.mark.parametrize("count", [1, 2, 7, 25_001])
def test_rows_sharing_values_are_stored_as_given(memory, count):
    numbers = [f"+91{9_000_000_000 + i * 7919 % 10**9}" for i in range(count)]
    columns = [
        [5] * count,  # shared by every row
        numbers,
        numbers,  # the same list again: bound once per row
        [f"name {i}" if i % 3 else None for i in range(count)],
        [1] * (count - 1) + [1.0],  # equal, not the same: 1.0 is stored as a real
        ['it\'s "quoted"; ?1 \\N'] * count,
        ["2026-11-28 10:00:00"] * count,
    ]
    order = sorted(range(count), key=numbers.__getitem__)
    rows = sqlite.encode(columns, order)
    sqlite.insert(memory, "t", NAMES, rows)
    given = [tuple(column[i] for column in columns) for i in order]
    found = stored(memory)
    assert [row[:-1] for row in found] == given
    assert [row[-1] for row in found] == [
        "real" if type(row[4]) is float else "integer" for row in given
    ]
    if count > 2:  # number, name and flag vary; the rest is bound once per statement
        assert rows.width == 3
        assert len(rows.values) == 3 * count


def test_no_rows_write_nothing(memory):
    sqlite.insert(memory, "t", NAMES, sqlite.encode([[] for _ in NAMES]))
    assert stored(memory) == []


def test_a_unique_index_objects_through_the_shared_value_statements(memory):
    columns = [[1, 1], ["+919876543210", "+919876543210"], [None, None]]
    with pytest.raises(IntegrityError):
        sqlite.insert(memory, "t", ("campaign", "number", "key"), sqlite.encode(columns))
