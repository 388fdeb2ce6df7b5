"""``contactload push`` as integrators run it: a real subprocess talking HTTP to a live
test server, with a real ``contactload worker`` process on the same test database.
Asserts on the exit code, the printed totals, the rejects file and the database."""

import csv
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import orjson
import pytest

from contactload.client.push import ChunkJob
from contactload.client.rejects import status_rejects
from contactload.models import Contact, UploadJob
from contactload.tokens import issue_token
from tests.test_cli import free_port, wait_for
from tests.test_worker_process import run_worker_process, worker_env

LIVE = pytest.mark.django_db(transaction=True)  # a live server and a worker share the DB

HEADERS = ["numeric", "user", "first_name", "email", "customer_info:customer_id"]
FIRST_NAMES = ["", "Doe, Jane", "Zoë", 'Ann "Nan"']


def push(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "contactload.cli", "push", *args],
        env=client_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def client_env() -> dict[str, str]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    for name in ("CONTACTLOAD_TOKEN", "CONTACTLOAD_URL", "DATABASE_URL"):
        env.pop(name, None)  # the client needs neither the database nor our env
    return env


@pytest.fixture
def token(manager, agents):
    return issue_token(manager)


@pytest.fixture
def worker(campaign):
    """A ``contactload worker`` process on the test database for the test's duration."""
    process = subprocess.Popen(
        [sys.executable, "-m", "contactload.cli", "worker", "--interval", "0.2"],
        env=worker_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    yield process
    process.terminate()
    process.wait(timeout=30)


def good_row(i: int) -> dict[str, str]:
    return {
        "numeric": f"9{i:09d}",
        "user": f"agent{i % 2 + 1}",
        "first_name": FIRST_NAMES[i % len(FIRST_NAMES)],
        "email": f"lead{i}@example.com",
        "customer_info:customer_id": f"C{i}",
    }


def mixed_rows(count: int) -> tuple[list[dict[str, str]], dict[int, str]]:
    """``count`` rows, 2% bad in five ways; the message of each bad row by 1-based position.
    A duplicate repeats a number of the same 250-row block, so of the same chunk."""
    rows, bad = [], {}
    for i in range(count):
        row, kind = good_row(i), i % 250
        if kind == 1:
            row["numeric"], bad[i + 1] = "12345", "Enter Valid Number"
        elif kind == 2:
            row["numeric"], bad[i + 1] = f"9{i - 2:09d}", "This row is duplicated in file"
        elif kind == 3:
            row["email"], bad[i + 1] = "nope", "Enter Valid Email Address"
        elif kind == 4:
            row["user"], bad[i + 1] = "ghost", "This user is not present in our database"
        elif kind == 5:
            row["customer_info:customer_id"] = f"X{i:030d}"
            bad[i + 1] = "Expected length is 30"
        rows.append(row)
    return rows, bad


def write_csv(path: Path, rows: list[dict[str, str]]) -> Path:
    with path.open("w", encoding="utf-8-sig", newline="") as handle:  # with a BOM
        writer = csv.DictWriter(handle, HEADERS)
        writer.writeheader()
        writer.writerows(rows)
    return path


def stored_numbers() -> list[str]:
    return list(Contact.objects.values_list("numeric", flat=True))


@LIVE
def test_a_50000_row_csv_lands_its_good_rows_and_lists_its_bad_ones(
    tmp_path, live_server, token, worker
):
    rows, bad = mixed_rows(50_000)
    source = write_csv(tmp_path / "leads.csv", rows)

    done = push(str(source), "--campaign", "Sales", "--url", live_server.url, "--token", token)

    assert done.returncode == 1, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "rows: 50000, inserted: 49000, updated: 0, rejected: 1000, jobs: 5"
    rejects = tmp_path / "leads.rejected.csv"
    assert lines[-1] == f"rejected rows: {rejects}"
    with rejects.open(encoding="utf-8", newline="") as handle:
        written = list(csv.reader(handle))
    assert written[0] == ["row", *HEADERS, "description"]
    expected = [
        [str(position), *rows[position - 1].values(), message]
        for position, message in sorted(bad.items())
    ]
    assert written[1:] == expected
    good = {"+91" + row["numeric"] for n, row in enumerate(rows, 1) if n not in bad}
    numbers = stored_numbers()
    assert len(numbers) == len(good) == 49_000
    assert set(numbers) == good
    assert UploadJob.objects.count() == 5


@LIVE
def test_a_json_file_is_inserted_then_updated_and_exits_0(tmp_path, live_server, token, worker):
    rows = [{**good_row(i), "priority": i % 5} for i in range(300)]
    inserts = tmp_path / "leads.json"
    inserts.write_bytes(orjson.dumps({"bulk_data": rows}))
    common = ("--campaign", "Sales", "--url", live_server.url, "--token", token)

    done = push(str(inserts), *common, "--chunk-rows", "100")

    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "rows: 300, inserted: 300, updated: 0, rejected: 0, jobs: 3"
    ]
    assert not (tmp_path / "leads.rejected.csv").exists()
    assert Contact.objects.filter(priority=4).count() == 60

    updates = tmp_path / "owners.json"
    updates.write_bytes(
        orjson.dumps([{"numeric": row["numeric"], "user": "agent1"} for row in rows])
    )
    done = push(str(updates), *common, "--update", "--reference-field", "numeric")

    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "rows: 300, inserted: 0, updated: 300, rejected: 0, jobs: 1"
    ]
    assert Contact.objects.filter(user__username="agent1").count() == 300


@LIVE
def test_a_push_killed_midway_and_run_again_stores_each_contact_once(
    tmp_path, live_server, token, worker
):
    rows, chunks = [good_row(i) for i in range(20_000)], 20
    source = write_csv(tmp_path / "leads.csv", rows)
    args = [str(source), "--campaign", "Sales", "--url", live_server.url, "--token", token]
    args += ["--chunk-rows", "1000"]

    first = subprocess.Popen(
        [sys.executable, "-m", "contactload.cli", "push", *args],
        env=client_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while not UploadJob.objects.exists() and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait()
    assert 1 <= UploadJob.objects.count() <= chunks

    again = push(*args)

    # The re-sent chunks carry the same Idempotency-Keys: the server answers them with
    # the first run's jobs, so nothing is rejected and no job is made twice.
    assert again.returncode == 0, again.stderr
    assert UploadJob.objects.count() == chunks
    assert again.stdout.startswith("rows: 20000, ")
    wait_for(lambda: not UploadJob.objects.exclude(state="completed").exists(), 60, "every job")
    numbers = stored_numbers()
    assert len(numbers) == len(set(numbers)) == 20_000
    assert set(numbers) == {"+91" + row["numeric"] for row in rows}


@LIVE
def test_no_wait_prints_the_jobs_and_a_worker_run_later_lands_them(tmp_path, live_server, token):
    source = write_csv(tmp_path / "leads.csv", [good_row(i) for i in range(30)])
    common = ("--campaign", "Sales", "--url", live_server.url, "--token", token)

    done = push(str(source), *common, "--chunk-rows", "20", "--no-wait")

    assert done.returncode == 0, done.stderr
    *jobs, last = done.stdout.splitlines()
    assert last == "rows: 30, jobs: 2 (not waited for)"
    ids = [line.split()[1] for line in jobs]
    assert jobs == [f"job {ids[0]} (rows 1-20): sent", f"job {ids[1]} (rows 21-30): sent"]
    assert set(UploadJob.objects.values_list("id", flat=True)) == set(ids)
    assert run_worker_process().returncode == 0
    assert Contact.objects.count() == 30


@LIVE
def test_jobs_unfinished_within_the_timeout_exit_4(tmp_path, live_server, token):
    source = write_csv(tmp_path / "leads.csv", [good_row(1)])  # and no worker runs

    done = push(
        str(source),
        "--campaign",
        "Sales",
        "--url",
        live_server.url,
        "--token",
        token,
        "--timeout",
        "0.5",
    )

    assert done.returncode == 4
    lines = done.stdout.splitlines()
    assert lines[0] == "rows: 1, inserted: 0, updated: 0, rejected: 0, jobs: 1"
    assert lines[1].endswith("(rows 1-1): still queued when the wait timed out")


@LIVE
def test_a_wrong_token_exits_3_with_the_servers_message(tmp_path, live_server, token):
    source = write_csv(tmp_path / "leads.csv", [good_row(1)])

    done = push(str(source), "--campaign", "Sales", "--url", live_server.url, "--token", "nope")

    assert done.returncode == 3
    assert "authentication failed (401): Invalid token." in done.stderr
    assert not UploadJob.objects.exists()


@LIVE
def test_a_refused_upload_exits_3_with_the_servers_errors_verbatim(tmp_path, live_server, token):
    source = write_csv(tmp_path / "leads.csv", [good_row(1), good_row(2)])

    done = push(str(source), "--campaign", "Nope", "--url", live_server.url, "--token", token)

    assert done.returncode == 3
    assert "upload of rows 1-2 failed (400): Campaign is not Present" in done.stderr


def test_a_server_that_is_not_running_exits_3(tmp_path):
    source = write_csv(tmp_path / "leads.csv", [good_row(1)])
    url = f"http://127.0.0.1:{free_port()}"

    done = push(str(source), "--campaign", "Sales", "--url", url, "--token", "t")

    assert done.returncode == 3
    assert f"cannot reach {url}: connection refused" in done.stderr


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "no such file"),
        ("numeric,user\n9876543210\n", "line 2: 1 cells, but the header line has 2"),
        ("", "empty file"),
        ('{"bulk_data": [1]}', "row 1 is not an object"),
        (b"numeric\n98765\xff43210\n", "not UTF-8 text"),
    ],
)
def test_bad_input_exits_2_before_anything_is_sent(tmp_path, content, message):
    source = tmp_path / "leads.csv"
    if content is not None:
        source.write_bytes(content if isinstance(content, bytes) else content.encode())
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens: sending would exit 3

    done = push(str(source), "--campaign", "Sales", "--url", url, "--token", "t")

    assert done.returncode == 2
    assert message in done.stderr


def test_no_token_exits_2(tmp_path):
    source = write_csv(tmp_path / "leads.csv", [good_row(1)])

    done = push(str(source), "--campaign", "Sales")

    assert done.returncode == 2
    assert "no API token" in done.stderr


def test_the_client_imports_neither_django_nor_the_models():
    code = "import sys, contactload.client.push; print([m for m in sys.modules if 'django' in m])"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_without_the_csv_endpoint_rejects_come_from_the_status_body_neutralised():
    item = {"numeric": "-12", "user": None, "row": 3, "error_codes": {"numeric": ["x"]}}
    job = ChunkJob("j", offset=10_000, rows=5, rejected=1)
    job.status = {"improper_data": [{**item, "description": "Enter Valid Number"}]}

    [(row, values, description)] = status_rejects(job)

    assert (row, values["numeric"], values["user"], description) == (
        3,
        "'-12",
        "",
        "Enter Valid Number",
    )
