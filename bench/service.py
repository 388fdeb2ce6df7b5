"""The real service as a subprocess: ``contactload serve`` (gunicorn + one worker) in
its own process group, an HTTP client for it on 127.0.0.1, and the worker's peak
RSS read from /proc. Everything started here is stopped on exit, also on failure."""

import contextlib
import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import orjson

UPLOAD = "/api/bulkphonebookupload/v1/"
BLOCK = 1024 * 1024


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


class Service:
    """``contactload serve --workers 1`` against ``database_url``, on a free port."""

    def __init__(self, database_url: str, log_path: Path):
        self.port = free_port()
        self.log_path = log_path
        env = {**os.environ, "DATABASE_URL": database_url, "PYTHONUNBUFFERED": "1"}
        command = [sys.executable, "-m", "contactload.cli", "serve"]
        command += ["--port", str(self.port), "--workers", "1"]
        self.log = open(log_path, "ab")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            command, env=env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True
        )
        self.worker_pid = 0

    def __enter__(self) -> "Service":
        try:
            self.wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop()

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"serve exited with {self.process.returncode}; see {self.log_path}"
                )
            workers = [pid for pid in children(self.process.pid) if " worker" in cmdline(pid)]
            if workers and self.healthy():
                self.worker_pid = workers[0]
                return
            time.sleep(0.2)
        raise TimeoutError(f"serve not ready after {timeout} s; see {self.log_path}")

    def healthy(self) -> bool:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
            connection.request("GET", "/api/health/")
            return connection.getresponse().status == 200
        except OSError:
            return False

    def stop(self) -> None:
        """SIGTERM to the whole process group, then SIGKILL after a bounded wait."""
        if self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGTERM)
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=30)
            except ProcessLookupError:
                pass
        with contextlib.suppress(ProcessLookupError):  # stragglers of gunicorn or the worker
            os.killpg(self.process.pid, signal.SIGKILL)
        self.log.close()

    def reset_peak_rss(self) -> None:
        Path(f"/proc/{self.worker_pid}/clear_refs").write_text("5")

    def peak_rss_mb(self) -> float:
        for line in Path(f"/proc/{self.worker_pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        raise RuntimeError("no VmHWM in /proc status")


class Client:
    """The API as an integrator uses it, with the manager's token."""

    def __init__(self, port: int, token: str):
        self.port, self.token = port, token

    def request(self, method: str, path: str, body=None, headers=None) -> tuple[int, dict]:
        connection = http.client.HTTPConnection(
            "127.0.0.1", self.port, timeout=900, blocksize=BLOCK
        )
        try:
            headers = {"Authorization": f"Token {self.token}", **(headers or {})}
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            return response.status, orjson.loads(response.read() or b"{}")
        finally:
            connection.close()

    def post_json(self, body: bytes) -> tuple[str, float, float]:
        """(job id, seconds to accept, wall-clock time of the answer)."""
        started = time.perf_counter()
        status, answer = self.request("POST", UPLOAD, body, {"Content-Type": "application/json"})
        return self.accepted(status, answer, started)

    def post_csv(self, path: Path, campaign: str) -> tuple[str, float, float]:
        """Stream the CSV file as a text/csv body (never read whole)."""
        headers = {"Content-Type": "text/csv", "Content-Length": str(path.stat().st_size)}
        started = time.perf_counter()
        with open(path, "rb") as body:
            status, answer = self.request("POST", f"{UPLOAD}?campaign={campaign}", body, headers)
        return self.accepted(status, answer, started)

    @staticmethod
    def accepted(status: int, answer: dict, started: float) -> tuple[str, float, float]:
        seconds, now = time.perf_counter() - started, time.time()
        if status not in (200, 201):
            raise RuntimeError(f"upload refused: {status} {answer}")
        return answer["job_id"], seconds, now

    def wait_completed(
        self, job_id: str, timeout: float, since: float | None = None
    ) -> tuple[dict, float]:
        """(status body, wall-clock time the job finished) once it is completed; polls
        the more rarely the longer the wait has gone on since ``since`` (a
        ``time.monotonic()``; default now), so that waiting for several jobs in turn
        polls as rarely as waiting for one."""
        deadline = time.monotonic() + timeout
        started = time.monotonic() if since is None else since
        while time.monotonic() < deadline:
            status, body = self.request("GET", f"/api/bulkphonebookupload/status/{job_id}/")
            if status != 200:
                raise RuntimeError(f"status of {job_id}: {status} {body}")
            if body["state"] == "failed":
                raise RuntimeError(f"job {job_id} failed: {body}")
            if body["state"] == "completed":
                return body, datetime.fromisoformat(body["finished_at"]).timestamp()
            # The job's own finished_at times it, so polling only has to notice the end; a
            # poll costs CPU the worker shares (2 cores): poll more rarely as the job goes on.
            time.sleep(min(1.0, max(0.05, (time.monotonic() - started) / 20)))
        raise TimeoutError(f"job {job_id} not completed after {timeout:.0f} s")
