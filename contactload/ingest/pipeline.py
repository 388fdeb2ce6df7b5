"""The order of a job's work, chunk by chunk: the database and the worker's Python
busy at the same time, with upload order kept where it matters.

- A ``check`` thread reads each chunk (on its own database connection) and runs its
  per-row rules (``plan.prepare``, pure Python) ahead of the chunk being written.
- For inserts, a ``lookup`` thread runs chunk k+1's lookups (``plan.check``) on its
  own database connection while chunk k is written and committed here. Every chunk
  before k is committed by then; chunk k's accepted numbers and unique values are
  passed along, so that k+1 judges in-upload duplicates as if k were committed. When
  chunk k's write lost a race and was checked again, chunk k+1 is checked again too,
  here, after k's commit.
- Writes and commits happen here, in upload order.

Inside a transaction that is not ours (a test's), another connection could not see
its data: the lookups then run here, before each write. Updates on SQLite, written
row by row in the worker's own process, run here, one chunk at a time."""

import gc
import logging
import sys
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager

from django.db import DatabaseError, connection, connections

from contactload.ingest import payload, writers
from contactload.models import UploadJob

logger = logging.getLogger("contactload.worker")

SWITCH_INTERVAL_S = 0.0005  # measured: about a third faster than the default 5 ms

# commit(prepared, checked or None) -> whether the write had to check the chunk again
Commit = Callable[[object, object], bool]


@contextmanager
def quick_handoffs(seconds: float = SWITCH_INTERVAL_S):
    """A shorter GIL switch interval while a job runs: a thread that waits on the
    database gets the interpreter back sooner from the one checking rows (with the
    default 5 ms, each of a chunk's round trips can wait that long)."""
    before = sys.getswitchinterval()
    sys.setswitchinterval(seconds)
    try:
        yield
    finally:
        sys.setswitchinterval(before)


# Objects the cyclic garbage collector tracks, made before it goes through its youngest
# generation: a chunk makes few (its columns are lists of strings), but each pass goes
# through every chunk in flight; with the default 700 that cost 1.1 us a row.
YOUNG_THRESHOLD = 10_000


@contextmanager
def sparing_collections(young: int = YOUNG_THRESHOLD):
    """Fewer passes of the cyclic garbage collector while a job runs."""
    before = gc.get_threshold()
    gc.set_threshold(max(young, before[0]), *before[1:])
    try:
        yield
    finally:
        gc.set_threshold(*before)


def run_chunks(job: UploadJob, plan, commit: Commit) -> None:
    """Prepare, check and commit every chunk of ``job`` not yet processed."""
    chunk_ids = iter(payload.chunk_ids(job, job.processed))
    if not writers.overlaps(job.action):
        for chunk_id in chunk_ids:
            commit(plan.prepare(*payload.chunk_data(chunk_id)), None)
        return
    # Inside a transaction that is not ours, only this thread's connection sees the chunks.
    shared = not connection.in_atomic_block
    with (
        quick_handoffs(),
        sparing_collections(),
        ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"check-{job.pk}") as checks,
    ):

        def prepare_next() -> Future | None:
            chunk_id = next(chunk_ids, None)
            if chunk_id is None:
                return None
            if shared:  # read on the checking thread's own connection
                return checks.submit(lambda: plan.prepare(*payload.chunk_data(chunk_id)))
            return checks.submit(plan.prepare, *payload.chunk_data(chunk_id))

        try:
            if getattr(plan, "looks_ahead", False) and shared:
                looking_ahead(plan, commit, prepare_next, job)
                return
            upcoming = prepare_next()
            while upcoming is not None:
                prepared = upcoming.result()
                upcoming = prepare_next()
                commit(prepared, None)
        finally:
            if shared:
                checks.submit(close_connection)


def looking_ahead(plan, commit: Commit, prepare_next, job: UploadJob) -> None:
    def look(prepared_future: Future, earlier):
        prepared = prepared_future.result()
        return prepared, plan.check(prepared, earlier)

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"lookup-{job.pk}") as lookups:
        try:
            upcoming = prepare_next()
            looked = None if upcoming is None else lookups.submit(look, upcoming, None)
            upcoming = prepare_next()
            while looked is not None:
                prepared, checked = looked.result()
                if checked is None:  # to check here, after the chunk before it committed
                    commit(prepared, None)
                    looked = None if upcoming is None else lookups.submit(look, upcoming, None)
                    upcoming = prepare_next()
                    continue
                # every chunk before this one is committed: the next one's lookups may run
                looked = None if upcoming is None else lookups.submit(look, upcoming, checked)
                upcoming = prepare_next()
                if commit(prepared, checked) and looked is not None:
                    looked = recheck(looked)
        finally:
            lookups.submit(close_connection)  # the lookup thread's own, once it is done


def close_connection() -> None:
    """Close this thread's connection; a broken one must not hide the job's real error."""
    try:
        connections.close_all()
    except DatabaseError:
        logger.warning("closing the lookup connection failed", exc_info=True)


def recheck(looked: Future) -> Future:
    """The next chunk, to be checked again after this one's commit (its lookups
    trusted what this chunk accepted before its write lost a race)."""
    prepared, _checked = looked.result()
    again: Future = Future()
    again.set_result((prepared, None))
    return again
