"""The baselines, on the same rows and the same table as the service: the rows the
service stored are read back, the table is emptied, and each baseline writes
them again, timed. PostgreSQL: raw COPY (the physical limit), ``bulk_create`` and
a per-row ORM loop (in a Django subprocess, ``bench.orm_paths``). SQLite: one
``executemany`` in one transaction (its limit)."""

import json
import os
import pickle
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import psycopg

from contactload.settings import SQLITE_PRAGMAS

TABLE = "contactload_contact"
AS_TEXT = {"jsonb", "timestamp with time zone"}


def pg_columns(connection) -> list[tuple[str, str]]:
    """(name, data type) of every column of the contact table but its id."""
    return connection.execute(
        "SELECT column_name, data_type FROM information_schema.columns "
        "WHERE table_name = %s AND column_name <> 'id' ORDER BY ordinal_position",
        (TABLE,),
    ).fetchall()


def read_postgres(database_url: str) -> tuple[list[str], list[tuple]]:
    """The stored contacts in insertion order, JSON and timestamp columns as text (as the
    service's writer sends them)."""
    with psycopg.connect(database_url) as connection:
        columns = pg_columns(connection)
        select = ", ".join(
            f'"{name}"::text' if kind in AS_TEXT else f'"{name}"' for name, kind in columns
        )
        rows = connection.execute(f'SELECT {select} FROM "{TABLE}" ORDER BY "id"').fetchall()
    return [name for name, _kind in columns], rows


def truncate_postgres(database_url: str) -> None:
    with psycopg.connect(database_url) as connection:
        connection.execute(f'TRUNCATE "{TABLE}"')


def copy_postgres(database_url: str, columns: list[str], rows: list[tuple]) -> float:
    """Seconds to COPY ``rows`` into the (empty) table in one transaction, commit included."""
    names = ", ".join(f'"{name}"' for name in columns)
    with psycopg.connect(database_url) as connection:
        started = time.perf_counter()
        with (
            connection.transaction(),
            connection.cursor() as cursor,
            cursor.copy(f'COPY "{TABLE}" ({names}) FROM STDIN') as copy,
        ):
            for row in rows:
                copy.write_row(row)
        return time.perf_counter() - started


def count_postgres(database_url: str) -> int:
    with psycopg.connect(database_url) as connection:
        return connection.execute(f'SELECT count(*) FROM "{TABLE}"').fetchone()[0]


def orm_path(kind: str, database_url: str, rows_file: Path, limit: int = 0) -> tuple[int, float]:
    """(rows, seconds) of ``bench.orm_paths`` KIND run in a Django process."""
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "DJANGO_SETTINGS_MODULE": "contactload.settings",
    }
    done = subprocess.run(
        [sys.executable, "-m", "bench.orm_paths", kind, str(rows_file), str(limit)],
        env=env,
        capture_output=True,
        text=True,
        timeout=3600,
        check=False,
    )
    if done.returncode:
        raise RuntimeError(f"bench.orm_paths {kind} failed:\n{done.stderr[-3000:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    return result["rows"], result["seconds"]


def save_rows(path: Path, columns: list[str], rows: list[tuple]) -> None:
    with open(path, "wb") as out:
        pickle.dump((columns, rows), out, protocol=pickle.HIGHEST_PROTOCOL)


def sqlite_connect(path: Path) -> sqlite3.Connection:
    """A connection with the service's settings (``contactload/settings.py``)."""
    connection = sqlite3.connect(path, isolation_level=None)
    connection.executescript(SQLITE_PRAGMAS)
    return connection


def read_sqlite(path: Path) -> tuple[list[str], list[tuple]]:
    connection = sqlite_connect(path)
    try:
        info = connection.execute(f'PRAGMA table_info("{TABLE}")').fetchall()
        columns = [row[1] for row in info if row[1] != "id"]
        names = ", ".join(f'"{name}"' for name in columns)
        rows = connection.execute(f'SELECT {names} FROM "{TABLE}" ORDER BY "id"').fetchall()
    finally:
        connection.close()
    return columns, rows


def empty_sqlite(path: Path) -> None:
    connection = sqlite_connect(path)
    try:
        connection.execute(f'DELETE FROM "{TABLE}"')
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        connection.close()


def executemany_sqlite(path: Path, columns: list[str], rows: list[tuple]) -> float:
    """Seconds for one ``executemany`` of ``rows`` in one transaction, commit included."""
    names = ", ".join(f'"{name}"' for name in columns)
    marks = ", ".join("?" for _ in columns)
    connection = sqlite_connect(path)
    try:
        started = time.perf_counter()
        connection.execute("BEGIN IMMEDIATE")
        connection.executemany(f'INSERT INTO "{TABLE}" ({names}) VALUES ({marks})', rows)
        connection.execute("COMMIT")
        return time.perf_counter() - started
    finally:
        connection.close()
