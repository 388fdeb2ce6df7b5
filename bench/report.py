"""The one table the benchmark prints: rows/s of each path, the ratios the issue
sets targets for, accept latency and worker memory, each target met or missed."""

from dataclasses import dataclass, field


@dataclass
class Timed:
    """``rows`` written in ``seconds``; for an end-to-end run ``seconds`` runs from
    the (first) accept answer to the (last) job's completion, and ``accept`` is the
    seconds the upload(s) took to be accepted."""

    rows: int
    seconds: float
    accept: float | None = None
    outcomes: str = ""  # "ok" or what differed from the expected outcomes

    @property
    def rate(self) -> float:
        return self.rows / self.seconds


@dataclass
class Results:
    rows: int
    facts: list[str] = field(default_factory=list)  # lines printed above the table
    paths: dict[str, Timed] = field(default_factory=dict)
    rss_100k: float = 0.0
    rss_n: float = 0.0
    latency_10k: list[float] = field(default_factory=list)
    latency_100k: list[float] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


PATHS = (
    ("pg_csv", "PostgreSQL e2e, CSV (accepted -> completed)"),
    ("pg_json", "PostgreSQL e2e, JSON (1st accepted -> last completed)"),
    ("pg_copy", "PostgreSQL raw COPY of the stored rows (limit)"),
    ("pg_bulk_create", "PostgreSQL bulk_create(batch_size=1000)"),
    ("pg_per_row", "PostgreSQL per-row ORM loop (sample)"),
    ("sqlite_csv", "SQLite e2e, CSV (accepted -> completed)"),
    ("sqlite_json", "SQLite e2e, JSON (1st accepted -> last completed)"),
    ("sqlite_executemany", "SQLite executemany, one transaction (limit)"),
)
RATIOS = (  # (numerator, denominator, at least)
    ("pg_csv", "pg_copy", 0.7),
    ("pg_json", "pg_copy", 0.7),
    ("pg_csv", "pg_bulk_create", 5),
    ("pg_json", "pg_bulk_create", 5),
    ("pg_csv", "pg_per_row", 100),
    ("pg_json", "pg_per_row", 100),
    ("sqlite_csv", "sqlite_executemany", 0.5),
    ("sqlite_json", "sqlite_executemany", 0.5),
)
SHORT = {
    "pg_csv": "PG e2e CSV",
    "pg_json": "PG e2e JSON",
    "pg_copy": "raw COPY",
    "pg_bulk_create": "bulk_create",
    "pg_per_row": "per-row loop",
    "sqlite_csv": "SQLite e2e CSV",
    "sqlite_json": "SQLite e2e JSON",
    "sqlite_executemany": "executemany",
}
RSS_LIMIT_MB = 300
FLAT = 1.2  # "flat": the N-row peak is at most this times the 100k-row peak


def median(values: list[float]) -> float:
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


def table(results: Results) -> str:
    lines = [*results.facts, ""]
    lines.append(f"{'path':<54}{'rows':>11}{'seconds':>10}{'rows/s':>10}  notes")
    for key, label in PATHS:
        timed = results.paths.get(key)
        if timed is None:
            continue
        notes = []
        if timed.accept is not None:
            notes.append(f"accept {timed.accept:.2f} s")
            total = timed.rows / (timed.seconds + timed.accept)
            notes.append(f"{total:,.0f} rows/s incl. accept")
        if timed.outcomes:
            notes.append(f"outcomes {timed.outcomes}")
        lines.append(
            f"{label:<54}{timed.rows:>11,}{timed.seconds:>10.2f}{timed.rate:>10,.0f}  "
            + "; ".join(notes)
        )
    lines += ["", f"{'target':<54}{'measured':>11}{'target':>26}  verdict"]
    for top, bottom, least in RATIOS:
        if top in results.paths and bottom in results.paths:
            ratio = results.paths[top].rate / results.paths[bottom].rate
            name = f"{SHORT[top]} / {SHORT[bottom]}"
            lines.append(
                f"{name:<54}{ratio:>10.2f}x{'>= ' + str(least) + 'x':>26}  "
                + verdict(ratio >= least)
            )
    n = results.rows
    lines.append(
        f"{'worker peak RSS, 100,000-row CSV':<54}{results.rss_100k:>8.0f} MB"
        f"{f'<= {RSS_LIMIT_MB} MB':>26}  {verdict(results.rss_100k <= RSS_LIMIT_MB)}"
    )
    flat = results.rss_n <= FLAT * results.rss_100k
    lines.append(
        f"{f'worker peak RSS, {n:,}-row CSV':<54}{results.rss_n:>8.0f} MB"
        f"{f'<= {RSS_LIMIT_MB} MB, <= {FLAT}x 100k':>26}  "
        + verdict(results.rss_n <= RSS_LIMIT_MB and flat)
    )
    for rows, latencies, limit in (
        (10_000, results.latency_10k, 0.2),
        (100_000, results.latency_100k, 2.0),
    ):
        if latencies:
            value = median(latencies)
            label = f"accept, {rows:,}-row JSON (median of {len(latencies)})"
            lines.append(
                f"{label:<54}{value:>9.3f} s{f'<= {limit} s':>26}  " + verdict(value <= limit)
            )
    if results.notes:
        lines += ["", *results.notes]
    return "\n".join(lines)
