"""The generated workload: a campaign config, N rows with ~2% bad rows of varied
kinds and ~1% in-upload duplicates, a 10,000-number DNC list. Deterministic: row
``i`` is always the same, so every path sees the same rows and the expected
outcome of each row is known."""

import csv
from collections.abc import Iterator

import orjson

CAMPAIGN = "Bench"
PROBE_CAMPAIGN = "BenchProbe"  # latency probes: duplicates allowed, nothing unique
MANAGER = "bench_manager"
AGENTS = tuple(f"agent{k:02d}" for k in range(1, 51))
OUTSIDER = "outsider"  # an agent of no campaign
DNC_SIZE = 10_000
JSON_REQUEST_ROWS = 100_000

HEADERS = (
    "numeric",
    "user",
    "first_name",
    "last_name",
    "email",
    "priority",
    "alt_numeric",
    "customer_info:customer_id",
    "customer_info:name",
    "customer_info:dob",
    "loan:amount",
    "loan:rate",
    "loan:product",
)
# Two rows in a hundred are bad, one each of these in turn; one in a hundred
# repeats the number of an earlier good row, spelled differently.
BAD_KINDS = (
    "invalid_number",
    "blank_number",
    "invalid_email",
    "unknown_user",
    "not_assigned",
    "invalid_integer",
    "invalid_float",
    "invalid_date",
    "invalid_choice",
    "too_long",
    "dnc",
    "ragged",  # CSV: a line one cell short; JSON: an invalid priority
)
FIRST = ("Asha", "Ravi", "Meena", "Arjun", "Priya", "Vikram", "Neha", "Sanjay")
LAST = ("Sharma", "Iyer", "Khan", "Patel", "Reddy", "Das", "Singh", "Nair")
PRODUCTS = ("home", "car", "personal")


def config_yaml() -> str:
    """The contactload config (CONFIG.md) the bench applies with ``load-config``."""

    def campaign(name: str, duplicates: str, unique: bool) -> str:
        return (
            f"  - name: {name}\n    country: IN\n    duplicates: {duplicates}\n"
            "    crm_fields:\n      customer_info:\n"
            f"        customer_id: {{type: text, size: 30, unique: {str(unique).lower()}}}\n"
            "        name: {type: text, size: 100}\n"
            "        dob: {type: date}\n"
            "      loan:\n"
            "        amount: {type: integer}\n"
            "        rate: {type: float}\n"
            "        product: {type: choice, choices: [home, car, personal]}\n"
        )

    both = f"[{CAMPAIGN}, {PROBE_CAMPAIGN}]"
    users = [f"  - username: {MANAGER}\n    role: manager\n    campaigns: {both}\n"]
    users += [
        f"  - username: {agent}\n    role: agent\n    campaigns: {both}\n" for agent in AGENTS
    ]
    users.append(f"  - username: {OUTSIDER}\n    role: agent\n    campaigns: []\n")
    return (
        "campaigns:\n"
        + campaign(CAMPAIGN, "reject", True)
        + campaign(PROBE_CAMPAIGN, "allow", False)
        + "users:\n"
        + "".join(users)
    )


def number(i: int) -> str:
    """Row i's mobile number (10 digits, distinct for every i < 10**8, scattered)."""
    return str(9_800_000_000 + (i * 7919) % 100_000_000)


def spelled(digits: str, i: int) -> str:
    """The usual spellings of a number, in the proportions of a real file."""
    style = i % 10
    if style == 7:
        return f"+91 {digits[:5]} {digits[5:]}"
    if style == 8:
        return "0" + digits
    if style == 9:
        return "91" + digits
    return digits


def kind_of(i: int) -> str | None:
    """Row i's kind: None (good), "duplicate" or one of BAD_KINDS."""
    rest = i % 100
    if rest < 2:
        return BAD_KINDS[(i // 100 * 2 + rest) % len(BAD_KINDS)]
    if rest == 2 and i >= 37:
        return "duplicate"
    return None


def cells(i: int) -> tuple[list[str], str | None]:
    """Row i as CSV cells in HEADERS order, and its kind."""
    kind = kind_of(i)
    first, last = FIRST[i % 8], LAST[(i // 8) % 8]
    numeric = spelled(number(i), i)
    if kind == "duplicate":  # the source row (i % 100 == 65) is always good
        source = number(i - 5037 if i >= 5037 else i - 37)
        numeric = f"+91 {source[:5]} {source[5:]}"
    row = [
        numeric,
        AGENTS[i % len(AGENTS)],
        first,
        last,
        f"lead{i}@example.com",
        str(i % 5 + 1),
        f"home:{9_700_000_000 + i}" if i % 10 == 3 else "",
        f"C{i:08d}",
        f"{first} {last}",
        f"{1960 + i % 40}-{1 + i % 12:02d}-{1 + i % 28:02d}",
        str(50_000 + (i * 37) % 950_000),
        f"{6 + (i % 600) / 100:.2f}",
        PRODUCTS[i % 3],
    ]
    bad = {
        "invalid_number": (0, "12345"),
        "blank_number": (0, ""),
        "invalid_email": (4, f"lead{i}.example.com"),
        "unknown_user": (1, "ghost"),
        "not_assigned": (1, OUTSIDER),
        "invalid_integer": (10, "12k"),
        "invalid_float": (11, "7.2.5"),
        "invalid_date": (9, "1990-13-45"),
        "invalid_choice": (12, "boat"),
        "too_long": (8, "x" * 120),
    }.get(kind)
    if bad:
        row[bad[0]] = bad[1]
    return row, kind


def expected_rejected(n: int) -> int:
    return sum(1 for i in range(n) if kind_of(i) is not None)


def dnc_numbers(n: int) -> list[str]:
    """10,000 canonical numbers: those of the upload's "dnc" rows, then others."""
    hits = ["+91" + number(i) for i in range(n) if kind_of(i) == "dnc"][:DNC_SIZE]
    return hits + [f"+9196{k:08d}" for k in range(DNC_SIZE - len(hits))]


def write_csv(path, n: int) -> int:
    """Write rows 0..n-1 as a UTF-8 CSV with a header line; returns its size in bytes."""
    with open(path, "w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(HEADERS)
        for i in range(n):
            row, kind = cells(i)
            writer.writerow(row[:-1] if kind == "ragged" else row)
        return out.tell()


def json_row(i: int) -> dict:
    row, kind = cells(i)
    if kind == "ragged":
        row[5] = "high"  # JSON rows cannot be ragged: an invalid priority instead
    return dict(zip(HEADERS, row, strict=True))


def json_body(campaign: str, start: int, stop: int) -> bytes:
    return orjson.dumps(
        {"campaign": campaign, "bulk_data": [json_row(i) for i in range(start, stop)]}
    )


def json_requests(n: int, size: int = JSON_REQUEST_ROWS) -> Iterator[tuple[int, int]]:
    """(start, stop) of each JSON request of the workload."""
    for start in range(0, n, size):
        yield start, min(n, start + size)
