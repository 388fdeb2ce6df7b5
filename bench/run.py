"""``make bench`` (``python -m bench.run``): generate the workload, run it through
the real service on PostgreSQL and on SQLite, measure the baselines on the same
rows and table, print one table. ``BENCH_ROWS`` (default 1,000,000) sets N;
``BENCH_KEEP=1`` keeps the work folder; ``BENCH_PROFILE=DIR`` records py-spy
profiles of the service's large runs there."""

import os
import platform
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path

from bench import database, limits, report, workload
from bench.profile import recording
from bench.service import Client, Service

PROBE_ROWS = 100_000  # the memory probe's CSV and the large latency probe
PER_ROW_SAMPLE = 20_000
LATENCY_REPEATS = 5


def deadline(rows: int) -> float:
    """A bounded wait for a job of ``rows`` rows: generous, never endless."""
    return 120 + rows / 500


def check(body: dict, n: int) -> str:
    """'ok' when the job's outcomes are the workload's expected ones."""
    expected = workload.expected_rejected(n)
    found = (body["total"], body["inserted"], body["rejected"])
    if found == (n, n - expected, expected):
        return "ok"
    return f"MISMATCH (total, inserted, rejected) {found} != {(n, n - expected, expected)}"


def run_csv(client: Client, path: Path, n: int) -> report.Timed:
    job, accept, accepted_at = client.post_csv(path, workload.CAMPAIGN)
    body, finished_at = client.wait_completed(job, deadline(n))
    return report.Timed(n, finished_at - accepted_at, accept, check(body, n))


def run_json(client: Client, bodies: list[tuple[int, bytes]], n: int) -> report.Timed:
    """Post every request back to back, then wait for each job in turn."""
    jobs, accepts, first_accepted = [], [], None
    for rows, body in bodies:
        job, accept, accepted_at = client.post_json(body)
        jobs.append((job, rows))
        accepts.append(accept)
        first_accepted = first_accepted or accepted_at
    finished_at, outcomes = 0.0, {"total": 0, "inserted": 0, "rejected": 0}
    waiting = time.monotonic()  # one wait for them all: no burst of polls per job
    for job, rows in jobs:
        body, finished_at = client.wait_completed(job, deadline(rows), since=waiting)
        for key in outcomes:
            outcomes[key] += body[key]
    return report.Timed(n, finished_at - first_accepted, sum(accepts), check(outcomes, n))


def accept_latency(client: Client, rows: int) -> list[float]:
    """Seconds to accept a ``rows``-row JSON request, each on an idle service."""
    body = workload.json_body(workload.PROBE_CAMPAIGN, 0, rows)
    latencies = []
    for _ in range(LATENCY_REPEATS):
        job, seconds, _accepted_at = client.post_json(body)
        latencies.append(seconds)
        client.wait_completed(job, deadline(rows))
    return latencies


def postgres(n: int, work: Path, bodies, results: report.Results, profiles: Path | None):
    url = database.recreate_postgres()
    token = database.provision(url, work / "bench.yaml", workload.MANAGER)
    database.insert_dnc_postgres(url, workload.dnc_numbers(max(n, PROBE_ROWS)))
    results.facts.append(database.server_versions(url))
    with Service(url, work / "serve-postgres.log") as service:
        client = Client(service.port, token)
        service.reset_peak_rss()
        probe = run_csv(client, work / "probe.csv", PROBE_ROWS)
        results.rss_100k = service.peak_rss_mb()
        results.notes.append(
            f"memory probe: {PROBE_ROWS:,}-row CSV on PostgreSQL at {probe.rate:,.0f} rows/s, "
            f"outcomes {probe.outcomes}"
        )
        limits.truncate_postgres(url)
        service.reset_peak_rss()
        with recording(service.process.pid, profiles and profiles / "postgres-csv.txt"):
            results.paths["pg_csv"] = run_csv(client, work / "rows.csv", n)
        results.rss_n = service.peak_rss_mb()

        columns, rows = limits.read_postgres(url)
        rows_file = work / "rows.pickle"
        limits.save_rows(rows_file, columns, rows)
        limits.truncate_postgres(url)
        results.paths["pg_copy"] = report.Timed(len(rows), limits.copy_postgres(url, columns, rows))
        if limits.count_postgres(url) != len(rows):
            raise RuntimeError("raw COPY did not store every row")
        del rows
        # JSON right after the limit, as CSV right before it: the machine is shared and
        # its speed drifts over the minutes the ORM paths take
        limits.truncate_postgres(url)
        with recording(service.process.pid, profiles and profiles / "postgres-json.txt"):
            results.paths["pg_json"] = run_json(client, bodies, n)
        for key, kind, limit in (
            ("pg_bulk_create", "bulk_create", 0),
            ("pg_per_row", "per_row", PER_ROW_SAMPLE),
        ):
            limits.truncate_postgres(url)
            results.paths[key] = report.Timed(*limits.orm_path(kind, url, rows_file, limit))
        results.notes.append(database.commit_latency(url))

        service.reset_peak_rss()
        results.latency_10k = accept_latency(client, 10_000)
        results.latency_100k = accept_latency(client, 100_000)
        results.notes.append(
            f"worker peak RSS while taking the latency probes: {service.peak_rss_mb():.0f} MB"
        )


def sqlite(n: int, work: Path, bodies, results: report.Results) -> None:
    path = work / "bench.sqlite3"
    url = f"sqlite:///{path}"
    token = database.provision(url, work / "bench.yaml", workload.MANAGER)
    database.insert_dnc_sqlite(path, workload.dnc_numbers(max(n, PROBE_ROWS)))
    with Service(url, work / "serve-sqlite.log") as service:
        client = Client(service.port, token)
        results.paths["sqlite_csv"] = run_csv(client, work / "rows.csv", n)
        columns, rows = limits.read_sqlite(path)
        limits.empty_sqlite(path)
        results.paths["sqlite_json"] = run_json(client, bodies, n)
    limits.empty_sqlite(path)
    results.paths["sqlite_executemany"] = report.Timed(
        len(rows), limits.executemany_sqlite(path, columns, rows)
    )


def prepare(n: int, work: Path, results: report.Results) -> list[tuple[int, bytes]]:
    (work / "bench.yaml").write_text(workload.config_yaml())
    size = workload.write_csv(work / "rows.csv", n)
    workload.write_csv(work / "probe.csv", PROBE_ROWS)
    bodies = [
        (stop - start, workload.json_body(workload.CAMPAIGN, start, stop))
        for start, stop in workload.json_requests(n)
    ]
    results.facts += [
        f"contactload ingest benchmark: N = {n:,} rows; {os.cpu_count()} CPUs; "
        f"Python {platform.python_version()}",
        f"workload: {len(workload.HEADERS)} columns (6 CRM fields), {len(workload.AGENTS)} agents, "
        f"{workload.expected_rejected(n):,} rows to reject (2% bad of 12 kinds, 1% in-upload "
        f"duplicates), {workload.DNC_SIZE:,} DNC numbers; CSV {size / 1e6:.1f} MB; JSON "
        f"{len(bodies)} request(s) of <= {workload.JSON_REQUEST_ROWS:,} rows",
    ]
    return bodies


def main() -> None:
    n = int(os.environ.get("BENCH_ROWS") or 1_000_000)
    profiles = Path(os.environ["BENCH_PROFILE"]) if os.environ.get("BENCH_PROFILE") else None
    if profiles:
        profiles.mkdir(parents=True, exist_ok=True)
    # SIGTERM (make interrupted, a timeout) unwinds like Ctrl+C: every finally runs.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    work = Path(tempfile.mkdtemp(prefix="contactload-bench-"))
    results = report.Results(rows=n)
    started, load_before = time.monotonic(), os.getloadavg()[0]
    try:
        bodies = prepare(n, work, results)
        print(f"workload ready in {work}; PostgreSQL...", file=sys.stderr, flush=True)
        postgres(n, work, bodies, results, profiles)
        print("SQLite...", file=sys.stderr, flush=True)
        sqlite(n, work, bodies, results)
    except BaseException:
        for log in sorted(work.glob("serve-*.log")):
            tail = log.read_text(errors="replace").splitlines()[-30:]
            print(f"--- last lines of {log.name}:", *tail, sep="\n", file=sys.stderr)
        raise
    finally:
        if os.environ.get("BENCH_KEEP"):
            print(f"kept {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)
    results.notes.append(
        f"whole benchmark: {time.monotonic() - started:.0f} s; 1-minute load average "
        f"{load_before:.2f} before, {os.getloadavg()[0]:.2f} after"
    )
    print(report.table(results))


if __name__ == "__main__":
    main()
