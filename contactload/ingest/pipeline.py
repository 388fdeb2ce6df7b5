"""The order of a job's work, chunk by chunk: the database and the worker's Python
busy at the same time, with upload order kept where it matters.

- A ``check`` thread reads each chunk (on its own database connection) and runs its
  per-row rules (``plan.prepare``, pure Python) ahead of the chunk being written.
- For inserts, the same thread runs chunk k+1's lookups (``plan.check``) while chunk
  k is written and committed here, before it prepares chunk k+2: one thread, in the
  order asked, so that the lookups the next write waits for do not share the
  interpreter with rules no write waits for yet (with a thread for each, the
  database waited a few ms for most chunks; PostgreSQL CSV ran 5% faster). Every chunk
  before k is committed by then (on SQLite, written: it commits several chunks at a
  time, ``Group``); the numbers and unique values of chunk k (and of those written
  since the last commit) are passed along, so that k+1 judges in-upload duplicates as
  if they were committed. When
  chunk k's write lost a race and was checked again, chunk k+1 is checked again too,
  here, after k's commit.
- Writes and commits happen here, in upload order.
- A run may follow its job with others (``Segment``s, from ``follow``): the next
  job's first chunk is prepared and looked up while the last chunks of the one
  before it are written, with that job's last chunk as ``earlier`` (its plan counts
  those values as another upload's). Without it, each job's first chunk was checked
  and looked up with the database idle, and its last written with the worker idle:
  about a tenth of a 100,000-row job.

Inside a transaction that is not ours (a test's), another connection could not see
its data: the lookups then run here, before each write. Updates on SQLite, written
row by row in the worker's own process, run here, one chunk at a time."""

import gc
import logging
import sys
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass

from django.db import DatabaseError, connection, connections, transaction

from contactload.ingest import payload, writers
from contactload.models import UploadJob

logger = logging.getLogger("contactload.worker")

SWITCH_INTERVAL_S = 0.0005  # measured: about a third faster than the default 5 ms

# commit(prepared, checked or None) -> (the chunk as written, whether the write had to
# check it again)
Commit = Callable[[object, object], tuple[object, bool]]


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


@dataclass(eq=False)
class Segment:
    """One job's part of a run: its plan, how a chunk of it is committed, and the ids
    of its chunks still to go through the pipeline."""

    job: UploadJob
    plan: object
    commit: Commit
    chunk_ids: Iterator[int]


def segment(job: UploadJob, plan, commit: Commit) -> Segment:
    """Every chunk of ``job`` not yet processed."""
    return Segment(job, plan, commit, iter(payload.chunk_ids(job, job.processed)))


def run_chunks(
    first: Segment,
    follow: Callable[[], Segment | None] = lambda: None,
    entering: Callable[[Segment], None] = lambda segment: None,
) -> None:
    """Prepare, check and commit every chunk of ``first``; then, where chunks are looked
    up ahead of the writes, of each segment ``follow`` gives once the chunks before it
    have all gone in: its first chunks are checked while the last of the one before are
    written. ``entering`` is told when the first chunk of a followed segment is about
    to be committed (every chunk before it is)."""
    if not writers.overlaps(first.job.action):
        for chunk_id in first.chunk_ids:
            first.commit(first.plan.prepare(*payload.chunk_data(chunk_id)), None)
            writers.make_way()
        return
    # Inside a transaction that is not ours, only this thread's connection sees the chunks.
    shared = not connection.in_atomic_block
    job = first.job
    with (
        quick_handoffs(),
        sparing_collections(),
        ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"check-{job.pk}") as checks,
    ):
        reading: Segment | None = first  # the segment whose chunks are being read

        def prepare_next() -> tuple[Segment, Future] | None:
            nonlocal reading
            chunk_id = None if reading is None else next(reading.chunk_ids, None)
            while chunk_id is None:
                following = follow() if looks_ahead and reading is not None else None
                if following is None:
                    reading = None  # the run is out of chunks: no job to follow any more
                    return None
                reading = following
                chunk_id = next(following.chunk_ids, None)
            plan = reading.plan
            if shared:  # read on the checking thread's own connection
                return reading, checks.submit(lambda: plan.prepare(*payload.chunk_data(chunk_id)))
            return reading, checks.submit(plan.prepare, *payload.chunk_data(chunk_id))

        looks_ahead = getattr(first.plan, "looks_ahead", False) and shared
        if looks_ahead:
            del first  # (the segments are let go of as the run moves on)
        try:
            if looks_ahead:
                looking_ahead(reading, prepare_next, entering, checks)
                return
            upcoming = prepare_next()
            while upcoming is not None:
                prepared = upcoming[1].result()
                upcoming = prepare_next()
                first.commit(prepared, None)
        finally:
            if shared:
                checks.submit(close_connection)


def looking_ahead(first: Segment, prepare_next, entering, checks: ThreadPoolExecutor) -> None:
    """Chunk k+1's lookups run while chunk k is written, across segments too: a
    followed segment's plan takes the chunk before it (another job's) as ``earlier``.
    Where the database commits a few chunks at a time (``Group``), ``earlier`` holds
    every chunk written since the last commit. They run on ``checks``, the thread that
    prepares the chunks: a chunk's lookups are asked for after its rules (``look``
    finds them done) and before the next chunk's rules."""

    def look(upcoming, earlier):
        segment, prepared_future = upcoming
        prepared = prepared_future.result()
        return prepared, segment.plan.check(prepared, earlier)

    def submit(upcoming, earlier) -> tuple[Segment, Future] | None:
        if upcoming is None:
            return None
        return upcoming[0], checks.submit(look, upcoming, earlier)

    current = first
    del first  # (the segments are let go of as the run moves on)
    group = Group(writers.group_rows())
    try:
        looked = submit(prepare_next(), None)
        upcoming = prepare_next()
        while looked is not None:
            segment, future = looked
            if segment is not current:
                group.commit()
                entering(segment)
                current = segment
            prepared, checked = future.result()
            group.begin()
            if checked is None:  # to check here, after the chunk before it committed
                checked, _raced = segment.commit(prepared, None)
                group.written(checked)
                looked = submit(upcoming, group.carried())
                upcoming = prepare_next()
                continue
            # every chunk before this one is written: the next one's lookups may run
            looked = submit(upcoming, group.carried(checked))
            upcoming = prepare_next()
            checked, raced = segment.commit(prepared, checked)
            group.written(checked)
            if raced and looked is not None:
                looked = recheck(looked)
        group.commit()
    except BaseException as exc:
        group.roll_back(exc)
        raise


@dataclass(frozen=True, slots=True)
class Carried:
    """Chunks written and not committed yet, as a later chunk's lookups take them: the
    numbers and the unique values they store, each a set or a tuple of sets (taken as
    their union, never made)."""

    owner: tuple
    accepted: tuple


class Group:
    """Chunks written in one transaction, committed once they hold ``rows`` rows (0:
    each chunk commits on its own), or sooner for a short write waiting for the lock
    (``writers.short_write``: an upload's acceptance), which then goes first. On SQLite
    a commit writes every page it dirtied to the journal again, and the two number
    indexes' pages are most of a chunk's."""

    def __init__(self, rows: int):
        self.rows, self.held = rows, 0
        self.atomic = None
        self.owner: tuple = ()
        # what the chunks written since the last commit store, and those not yet in it
        self.numbers: set = set()
        self.ids: set = set()
        self.unfolded: list[tuple[set, set]] = []

    def begin(self) -> None:
        if self.rows and self.atomic is None:
            self.atomic = transaction.atomic()
            self.atomic.__enter__()

    def written(self, checked) -> None:
        if self.atomic is None:  # committed on its own
            writers.make_way()
            return
        self.owner = checked.owner
        self.unfolded.append(checked.accepted)  # (not its rows)
        self.held += checked.size
        if self.held >= self.rows or writers.others_waiting():
            self.commit()
            writers.make_way()

    def carried(self, latest=None) -> Carried | None:
        """What the next chunk's lookups must count as written: the chunks since the
        last commit, and ``latest``, being written. Called while no lookup runs (one at
        a time, ``looking_ahead``): the chunks written since go into the sets in place,
        each once, where a union of them all for each chunk grew with the group."""
        for numbers, ids in self.unfolded:
            self.numbers |= numbers
            self.ids |= ids
        self.unfolded = []
        if latest is None:
            return Carried(self.owner, (self.numbers, self.ids)) if self.held else None
        if not self.held:
            return Carried(latest.owner, latest.accepted)
        numbers, ids = latest.accepted
        return Carried(latest.owner, ((self.numbers, numbers), (self.ids, ids)))

    def commit(self) -> None:
        if self.atomic is not None:
            atomic, self.atomic = self.atomic, None
            self.forget()
            atomic.__exit__(None, None, None)

    def roll_back(self, exc: BaseException) -> None:
        if self.atomic is not None:
            atomic, self.atomic = self.atomic, None
            self.forget()
            atomic.__exit__(type(exc), exc, exc.__traceback__)

    def forget(self) -> None:
        self.held, self.unfolded = 0, []
        self.numbers, self.ids = set(), set()  # (new ones: a lookup may hold the old)


def close_connection() -> None:
    """Close this thread's connection; a broken one must not hide the job's real error."""
    try:
        connections.close_all()
    except DatabaseError:
        logger.warning("closing the checking thread's connection failed", exc_info=True)


def recheck(looked: tuple[Segment, Future]) -> tuple[Segment, Future]:
    """The next chunk, to be checked again after this one's commit (its lookups
    trusted what this chunk accepted before its write lost a race). Its failure, if it
    failed, is kept for its turn: it may belong to another job."""
    segment, future = looked
    again: Future = Future()
    try:
        prepared, _checked = future.result()
    except Exception as exc:  # raised again in its turn
        again.set_exception(exc)
    else:
        again.set_result((prepared, None))
    return segment, again
