"""The CLI: every command explains itself, and ``make run`` serves what it prints
(the OpenAPI schema's coverage is tested in test_discovery.py)."""

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import orjson
import pytest
from django.core.checks import run_checks
from django.core.management import get_commands, load_command_class

ROOT = Path(__file__).resolve().parent.parent
OURS = {name for name, app in get_commands().items() if app == "contactload"}


def test_our_commands_are_all_there():
    assert {"load_config", "createtoken", "serve", "worker", "demo_banner"} <= OURS


@pytest.mark.parametrize("name", sorted(OURS))
def test_every_command_has_help_text(name):
    command = load_command_class("contactload", name)
    assert len(command.help) > 20


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(condition, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.mark.slow
def test_make_run_serves_and_its_printed_curl_completes(tmp_path):
    port = free_port()
    env = {
        **os.environ,
        "PORT": str(port),
        "CONTACTLOAD_VAR_DIR": str(tmp_path),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'run.sqlite3'}",
    }
    env.pop("CONTACTLOAD_CONFIG", None)
    log = tmp_path / "make-run.log"
    with log.open("w") as out:
        server = subprocess.Popen(
            ["make", "--no-print-directory", "run"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        wait_for(lambda: "serving on" in log.read_text(), 120, "make run to serve")
        printed = log.read_text()
        upload = printed[printed.index("curl -sS -X POST") :].split("\n\n")[0]

        def accepted():
            answer = subprocess.run(["bash", "-c", upload], capture_output=True, text=True)
            return answer.stdout if '"job_id"' in answer.stdout else None

        body = orjson.loads(wait_for(accepted, 60, "the upload to be accepted"))
        assert body["success"].startswith("Reference/Phonebook Name:Demo_")
        status = re.search(r"curl -sS -H .*status/\$JOB_ID/\"", printed).group(0)
        check = ["bash", "-c", status.replace("$JOB_ID", body["job_id"])]

        def completed():
            answer = orjson.loads(subprocess.run(check, capture_output=True).stdout)
            return (
                answer
                if answer["status"] != "Pending state. Please check with Administrator!"
                else None
            )

        final = wait_for(completed, 120, "the job to finish")
        assert final["status"] == "Completed", final
        assert (final["inserted"], final["rejected"]) == (3, 0)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)


def test_a_web_process_loads_its_views_and_freezes_what_boot_made_at_import():
    """gunicorn imports ``contactload.wsgi`` in each of its processes: what a first
    request would load is loaded then, and left out of the garbage collector's passes."""
    probe = (
        "import gc, sys\n"
        "before = 'contactload.api.upload' in sys.modules\n"
        "import contactload.wsgi\n"
        "print(before, 'contactload.api.upload' in sys.modules, gc.get_freeze_count() > 10_000)"
    )
    answer = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert answer.stdout.split() == ["False", "True", "True"]


def test_check_warns_when_a_late_beat_would_make_a_live_worker_look_dead(settings):
    settings.CONTACTLOAD_REAP_INTERVAL_S = 10
    settings.CONTACTLOAD_STALE_AFTER_S = 60
    assert "contactload.W001" not in {message.id for message in run_checks()}
    settings.CONTACTLOAD_STALE_AFTER_S = 20
    (warning,) = [message for message in run_checks() if message.id == "contactload.W001"]
    assert "CONTACTLOAD_STALE_AFTER_S (20) is not more than twice" in warning.msg
