"""A fresh database for each run, provisioned through the real CLI: ``contactload
migrate``, ``load-config`` with the generated YAML, ``createtoken``; the DNC list
goes in with one bulk insert."""

import os
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import psycopg

PG_SERVER = os.environ.get("BENCH_PG_SERVER", "postgres://postgres@127.0.0.1:5432")
PG_NAME = "contactload_bench"


def recreate_postgres() -> str:
    """Drop and create the bench database; its URL."""
    with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as connection:
        connection.execute(f"DROP DATABASE IF EXISTS {PG_NAME} WITH (FORCE)")
        connection.execute(f"CREATE DATABASE {PG_NAME}")
    return f"{PG_SERVER}/{PG_NAME}"


def contactload(database_url: str, *arguments: str, timeout: float = 600) -> str:
    """Run the contactload CLI against ``database_url``; its stdout."""
    done = subprocess.run(
        [sys.executable, "-m", "contactload.cli", *arguments],
        env={**os.environ, "DATABASE_URL": database_url},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if done.returncode:
        raise RuntimeError(f"contactload {' '.join(arguments)} failed:\n{done.stderr[-3000:]}")
    return done.stdout


def provision(database_url: str, config_path: Path, manager: str) -> str:
    """Migrate, apply the config; the manager's token."""
    contactload(database_url, "migrate", "--noinput")
    contactload(database_url, "load-config", str(config_path))
    return contactload(database_url, "createtoken", manager).strip()


def insert_dnc_postgres(database_url: str, numbers: list[str]) -> None:
    now = datetime.now(UTC)
    with (
        psycopg.connect(database_url) as connection,
        connection.cursor() as cursor,
        cursor.copy(
            'COPY "contactload_dncentry" ("numeric", "active", "created_at") FROM STDIN'
        ) as copy,
    ):
        for numeric in numbers:
            copy.write_row((numeric, True, now))


def insert_dnc_sqlite(path: Path, numbers: list[str]) -> None:
    now = datetime.now(UTC).replace(tzinfo=None).isoformat(" ")
    with sqlite3.connect(path) as connection:
        connection.executemany(
            'INSERT INTO "contactload_dncentry" ("numeric", "active", "created_at") '
            "VALUES (?, 1, ?)",
            [(numeric, now) for numeric in numbers],
        )
    connection.close()


def server_versions(database_url: str) -> str:
    """The servers, and the PostgreSQL settings that bound its results."""
    with psycopg.connect(database_url) as connection:
        settings = dict(
            connection.execute(
                "SELECT name, current_setting(name) FROM pg_settings WHERE name IN "
                "('server_version', 'autovacuum', 'shared_buffers', 'synchronous_commit')"
            ).fetchall()
        )
    return (
        f"PostgreSQL {settings['server_version'].split()[0]} (autovacuum "
        f"{settings['autovacuum']}, shared_buffers {settings['shared_buffers']}, "
        f"synchronous_commit {settings['synchronous_commit']}), SQLite {sqlite3.sqlite_version}"
    )


COMMIT_PROBES = 2_000


def commit_latency(database_url: str) -> str:
    """What one committed single-row INSERT costs, with and without waiting for the
    disk's flush: the per-row loop pays one of them a row, COPY one for all rows."""
    seconds = {}
    with psycopg.connect(database_url, autocommit=True) as connection:
        # a logged table: a temporary one commits without any flush to wait for
        connection.execute("CREATE TABLE IF NOT EXISTS bench_commit_probe (a text)")
        for mode in ("on", "off"):
            connection.execute(f"SET synchronous_commit = {mode}")
            started = time.perf_counter()
            for k in range(COMMIT_PROBES):
                connection.execute("INSERT INTO bench_commit_probe (a) VALUES (%s)", (str(k),))
            seconds[mode] = (time.perf_counter() - started) / COMMIT_PROBES
        connection.execute("DROP TABLE bench_commit_probe")
    on, off = seconds["on"] * 1e3, seconds["off"] * 1e3
    return (
        f"PostgreSQL single-row INSERT + commit (psycopg, no ORM): {on:.3f} ms, of which "
        f"{on - off:.3f} ms waits for the disk's flush (synchronous_commit off: {off:.3f} ms)"
    )
