"""``contactload worker``: one background worker. django-tasks-db's worker runs the
tasks; beside it a thread keeps the worker's liveness row fresh and recovers jobs
of dead workers, and a lost database connection makes the worker wait and
reconnect instead of exiting."""

import logging
import signal
import threading
import time

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import DatabaseError, close_old_connections, connection, connections
from django.utils.crypto import get_random_string
from django_tasks_db.management.commands.db_worker import Worker

from contactload.ingest import liveness, run, writers
from contactload.ingest.recovery import recover

logger = logging.getLogger("contactload.worker")


def recover_quietly(worker_id: str) -> None:
    try:
        close_old_connections()
        # (on SQLite a job, this worker's own too, lets the beat in, as every write:
        # a beat that waited for a long job's end made the worker look dead)
        liveness.beat(worker_id)
        recover()
    except Exception:  # the beats must go on: a beat missed is a worker taken for dead
        logger.warning("recovery sweep failed; will try again", exc_info=True)
        connection.close()


def keep_recovering(stop: threading.Event, worker_id: str) -> None:
    while not stop.wait(settings.CONTACTLOAD_REAP_INTERVAL_S):
        recover_quietly(worker_id)
    connection.close()


class QueueWorker(Worker):
    """django-tasks-db's worker, whose polls of the queue take no turn ahead of a
    running job (``writers.turns_taken``): on SQLite an idle worker's poll waits for the
    job's lock as before, where a turn every 0.1 s would make the job commit after
    every chunk. The tasks it runs take theirs."""

    def run(self) -> None:
        with writers.turns_taken(False):
            super().run()

    def run_task(self, db_task_result) -> None:
        with writers.turns_taken(True):
            super().run_task(db_task_result)


def following_stops_on_signals(worker: Worker) -> None:
    """django-tasks-db's stop signals (``Worker.configure_signals``: the task it runs
    finishes, then the worker stops), which also end a stream of jobs at the job it
    runs (``run.Stream``)."""

    def stop(signum, frame):
        run.STOPPING.set()
        worker.shutdown(signum, frame)

    for name in ("SIGINT", "SIGTERM", "SIGQUIT"):
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), stop)


class Command(BaseCommand):
    help = (
        "Run one background worker that processes queued uploads and recovers the jobs "
        "of workers that died (run several for more throughput)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--batch", action="store_true", help="Process every queued job, then exit."
        )
        parser.add_argument(
            "--interval",
            type=float,
            # an upload waits for the next poll to start: on average half of this
            default=0.1,
            help="Seconds to wait between polls of an empty queue (default: 0.1).",
        )

    def handle(self, *, batch: bool, interval: float, verbosity: int, **options):
        logging.getLogger("django_tasks").setLevel(logging.INFO if verbosity else logging.ERROR)
        worker = QueueWorker(
            queue_names=["default"],
            interval=interval,
            batch=batch,
            backend_name="default",
            startup_delay=False,
            max_tasks=None,
            worker_id=get_random_string(32),
            excluded_queue_names=[],
        )
        following_stops_on_signals(worker)  # (in place of worker.configure_signals())
        stop = threading.Event()
        beats = threading.Thread(target=keep_recovering, args=(stop, worker.worker_id), daemon=True)
        try:  # a stop signal may come as soon as the first beat is visible
            recover_quietly(worker.worker_id)
            beats.start()  # (--batch too: its task would be taken for a dead worker's)
            self.run_until_done(worker)
        finally:
            stop.set()
            if beats.is_alive():
                # A beat in flight would write the row again after it is removed.
                beats.join(timeout=10)
            # A stop signal can land anywhere, even between a transaction's BEGIN and
            # its bookkeeping: remove the row on a fresh connection.
            connections.close_all()
            try:
                liveness.gone(worker.worker_id)
            except DatabaseError:  # its beat then simply goes stale
                logger.warning("could not remove this worker's liveness row", exc_info=True)

    def run_until_done(self, worker: Worker) -> None:
        pause = 1.0
        while True:
            try:
                worker.run()
                return
            except DatabaseError:
                # The database went away (restart, failover): wait, reconnect, go on.
                # The job that was running is resumed by recovery once its heartbeat is stale.
                logger.warning("database unavailable; retrying in %.0f s", pause, exc_info=True)
                connections.close_all()
                time.sleep(pause)
                pause = min(pause * 2, 30)
