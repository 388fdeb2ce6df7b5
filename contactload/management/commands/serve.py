"""``contactload serve``: gunicorn for the API plus N background workers, supervised."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = (
        "Serve the API with gunicorn and run background workers beside it; "
        "a worker that dies is restarted. Ctrl+C stops everything."
    )

    def add_arguments(self, parser):
        parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
        parser.add_argument(
            "--port", type=int, default=int(os.environ.get("PORT", 8000)), help="HTTP port"
        )
        parser.add_argument(
            "--workers", type=int, default=1, help="Background worker processes (default: 1)."
        )
        parser.add_argument(
            "--web-workers", type=int, default=2, help="gunicorn worker processes (default: 2)."
        )

    def handle(self, *, host, port, workers, web_workers, **options):
        # Metrics files of an earlier run would be counted again (prometheus_client's rule).
        for stale in Path(os.environ["PROMETHEUS_MULTIPROC_DIR"]).glob("*.db"):
            stale.unlink()
        web = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "contactload.wsgi:application",
                "--bind",
                f"{host}:{port}",
                "--workers",
                str(web_workers),
                "--access-logfile",
                "-",
            ]
        )
        background = [self.start_worker() for _ in range(workers)]
        stopping = False

        def stop(signum, frame):
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        self.stdout.write(f"serving on http://{host}:{port}/ with {workers} worker(s)")
        while not stopping and web.poll() is None:
            for index, process in enumerate(background):
                if process.poll() is not None:
                    self.stderr.write(f"worker exited with {process.returncode}; restarting")
                    background[index] = self.start_worker()
            time.sleep(0.5)
        for process in [web, *background]:
            if process.poll() is None:
                process.terminate()
        for process in [web, *background]:
            process.wait()
        return None

    def start_worker(self) -> subprocess.Popen:
        return subprocess.Popen([sys.executable, "-m", "contactload.cli", "worker"])
