"""The worker side of an upload: claim the job, check and write its rows chunk by
chunk, finish. One transaction per chunk (on SQLite, per
``CONTACTLOAD_SQLITE_COMMIT_ROWS`` rows: chunks in savepoints) writes the chunk's
contacts, its rejected rows, the counts and the checkpoint; a re-run resumes after
the last committed chunk, and only the run holding the job's token can commit. A run
that fails is retried with back-off, and fails the job for good after the
configured number of attempts."""

import logging
import secrets
import threading
import time
import traceback

from django.conf import settings
from django.db import DatabaseError, IntegrityError, OperationalError, connection, transaction
from django.db.models import F, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from contactload import metrics
from contactload.ingest import callbacks, lookups, pipeline, writers
from contactload.ingest.campaign import load_rules
from contactload.ingest.insert import InsertPlan
from contactload.ingest.update import UpdatePlan
from contactload.models import UploadJob

logger = logging.getLogger("contactload.worker")

# A unique index may object when another job stored the same number after our
# lookup (or the database may pick us as a deadlock victim); the chunk is then
# checked again, and such a row is reported as a duplicate.
WRITE_ATTEMPTS = 5


class JobLost(Exception):
    """The job was taken over by another run (this one was presumed dead)."""


def claim(job_id: str, **only) -> UploadJob | None:
    """Move a queued job (matching ``only``) to running under a fresh run token; None
    when it is not queued (a harmless second run of the task)."""
    now, token = timezone.now(), secrets.token_hex(8)
    claimed = UploadJob.objects.filter(pk=job_id, state=UploadJob.State.QUEUED, **only).update(
        state=UploadJob.State.RUNNING,
        run_token=token,
        attempts=F("attempts") + 1,
        started_at=Coalesce(F("started_at"), Value(now)),
        heartbeat_at=now,
    )
    if not claimed:
        return None
    return UploadJob.objects.select_related("campaign").get(pk=job_id)


def run_job(job_id: str) -> None:
    job = claim(job_id)
    if job is None:
        logger.info("job %s is not queued; nothing to do", job_id)
        return
    Stream(job).run()


class Stream:
    """A run of the job a task was queued for, then of new insert jobs queued after it
    (``follow``) while the queue gives one next, for up to ``CONTACTLOAD_FOLLOW_S``
    (another kind of task ends the stream, so the queue's order holds): the next job's
    first chunk is checked and looked up while this one's last chunks are written, so
    that a queue of uploads keeps the database busy from one to the next. Each job is
    claimed, beats, completes, or fails and is retried, on its own; a job claimed ahead
    when another fails goes back to the queue, where its own task finds it."""

    def __init__(self, job: UploadJob):
        self.current = job  # the job whose chunks are being committed
        self.ahead: list[UploadJob] = []  # claimed, its chunks in flight
        self.heartbeats = {job.pk: Heartbeat(job)}
        self.started = time.monotonic()

    def run(self) -> None:
        job = self.current
        job_event(job, "job running", logging.INFO)
        self.heartbeats[job.pk].start()
        try:
            try:
                with writers.turns_taken(False), writers.lazy_commits():
                    pipeline.run_chunks(self.segment(job), self.follow, self.entering)
                finish(self.current)
            finally:
                for other in self.ahead:
                    self.release(other)
        except JobLost:
            logger.warning("job %s was taken over by another run; leaving it", self.current.pk)
        except Exception:
            logger.exception("job %s failed (attempt %d)", self.current.pk, self.current.attempts)
            retry_or_fail(self.current, traceback.format_exc())
        finally:
            for heartbeat in self.heartbeats.values():
                heartbeat.end()

    def segment(self, job: UploadJob) -> pipeline.Segment:
        plan = plan_for(job)
        return pipeline.segment(
            job, plan, lambda prepared, checked: commit_chunk(job, plan, prepared, checked)
        )

    def follow(self) -> pipeline.Segment | None:
        """The job the queue gives next, claimed, when it is a new insert job; else None."""
        if (
            STOPPING.is_set()
            or not writers.follows()
            or time.monotonic() - self.started > settings.CONTACTLOAD_FOLLOW_S
        ):
            return None
        try:
            job = claim_next()
        except DatabaseError:  # not this job's fault: it goes on, and follows nothing
            logger.warning("could not look for a job to follow", exc_info=True)
            return None
        if job is None:
            return None
        from contactload.tasks import drop_queued_runs  # tasks imports this module

        try:
            drop_queued_runs(job.pk)  # its own task would run it again, without its back-off
            following = self.segment(job)
        except Exception:  # its own task meets it, and fails it if it must
            logger.warning("job %s: could not follow on", job.pk, exc_info=True)
            self.release(job)
            return None
        self.ahead.append(job)
        self.heartbeats[job.pk] = heartbeat = Heartbeat(job)
        heartbeat.start()
        job_event(job, "job running", logging.INFO)
        return following

    def entering(self, segment: pipeline.Segment) -> None:
        """Every chunk of the current job is committed: it is complete."""
        finish(self.current)
        self.heartbeats.pop(self.current.pk).end()
        self.ahead.remove(segment.job)
        self.current = segment.job

    def release(self, job: UploadJob) -> None:
        """A job claimed ahead goes back to the queue as it was, with a task of its own
        (its first was taken off the queue when it was claimed)."""
        from contactload.tasks import enqueue_job  # tasks imports this module

        heartbeat = self.heartbeats.pop(job.pk, None)
        if heartbeat is not None:
            heartbeat.end()
        try:
            released = UploadJob.objects.filter(
                pk=job.pk, run_token=job.run_token, processed=0
            ).update(
                state=UploadJob.State.QUEUED,
                run_token="",
                attempts=F("attempts") - 1,
                started_at=None,
            )
            if released:
                enqueue_job(job.pk)
                logger.info("job %s goes back to the queue", job.pk)
        except DatabaseError:  # its heartbeat stops: recovery queues it again
            logger.warning("job %s: could not put it back in the queue", job.pk, exc_info=True)


# Ready tasks a stream looks at for a job to follow (others may claim them first).
FOLLOW_CANDIDATES = 5

# Set when the worker is asked to stop: a stream then follows no other job.
STOPPING = threading.Event()


def claim_next() -> UploadJob | None:
    """The job of the queue's next task, claimed, when that task is the first run of a
    new insert job; None when the queue is empty or gives another kind of task first (an
    update, a retry, a callback): the worker takes that one itself, in the queue's order.
    Runs of jobs no longer queued (another worker's) are passed over."""
    from contactload.tasks import next_runs  # tasks imports this module

    for job_id in next_runs(FOLLOW_CANDIDATES):
        if job_id is None:
            return None
        job = UploadJob.objects.filter(pk=job_id).values_list("state", "action", "attempts")
        state, action, attempts = job.first() or (None, None, None)
        if state != UploadJob.State.QUEUED:
            continue
        if action != UploadJob.Action.INSERT or attempts:
            return None
        job = claim(job_id, action=UploadJob.Action.INSERT, attempts=0)
        if job is not None:  # (else another worker's)
            return job
    return None


def retry_or_fail(job: UploadJob, error: str) -> None:
    """Queue the job again after a back-off, or fail it for good after the last attempt."""
    from contactload.tasks import enqueue_job  # tasks imports this module

    mine = UploadJob.objects.filter(
        pk=job.pk, run_token=job.run_token, state=UploadJob.State.RUNNING
    )
    if job.attempts >= settings.CONTACTLOAD_MAX_ATTEMPTS:
        if mine.update(state=UploadJob.State.FAILED, error=error, finished_at=timezone.now()):
            transaction.on_commit(lambda: callbacks.schedule(job.pk))
            job_event(job, "job failed", logging.ERROR, outcome="failed")
        return
    job_event(job, "job queued for a retry", logging.WARNING)
    with transaction.atomic():
        if mine.update(state=UploadJob.State.QUEUED, run_token="", error=error):
            delay = settings.CONTACTLOAD_RETRY_BACKOFF_S * job.attempts
            transaction.on_commit(lambda: enqueue_job(job.pk, delay))


class Heartbeat:
    """Keeps ``heartbeat_at`` fresh from a thread while the job runs, so that a
    stale heartbeat means a dead worker, not a slow chunk."""

    def __init__(self, job: UploadJob):
        self.job = job
        self.interval = settings.CONTACTLOAD_STALE_AFTER_S / 4
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.beat, daemon=True, name=f"heartbeat-{job.pk}")

    def start(self) -> None:
        self.thread.start()

    def end(self) -> None:
        self.stop.set()
        self.thread.join()

    def beat(self) -> None:
        try:
            while not self.stop.wait(self.interval):
                try:
                    # (on SQLite, the job's own writes stand aside for it, as for every
                    # write, or it would wait for the job's end and the job look dead)
                    UploadJob.objects.filter(pk=self.job.pk, run_token=self.job.run_token).update(
                        heartbeat_at=timezone.now()
                    )
                except DatabaseError:
                    logger.warning("job %s: heartbeat failed", self.job.pk, exc_info=True)
        finally:
            connection.close()  # this thread's own connection


def plan_for(job: UploadJob):
    rules = load_rules(job.campaign)
    ctx = lookups.JobContext(
        rules=rules, phonebook_id=job.phonebook_id, agents=lookups.campaign_agents(rules.id)
    )
    return UpdatePlan(ctx, job) if job.action == UploadJob.Action.UPDATE else InsertPlan(ctx, job)


def finish(job: UploadJob) -> None:
    """The job is complete; its commit waits for the disk, and so makes every lazy
    commit of its chunks before it durable."""
    with transaction.atomic():
        writers.durable_commit()
        finished = UploadJob.objects.filter(
            pk=job.pk, state=UploadJob.State.RUNNING, run_token=job.run_token
        ).update(
            state=UploadJob.State.COMPLETED,
            error="",
            finished_at=timezone.now(),
            heartbeat_at=timezone.now(),
        )
        if not finished:
            raise JobLost()
        transaction.on_commit(lambda: callbacks.schedule(job.pk))
    job_event(job, "job completed", logging.INFO, outcome="completed")


def job_event(job: UploadJob, event: str, level: int, outcome: str = "") -> None:
    """One log event per state change, with the job's counts; a job's end is also
    timed in the metrics, from its acceptance."""
    seconds = (timezone.now() - job.created_at).total_seconds()
    if outcome:
        metrics.observe(metrics.JOB_SECONDS, seconds, outcome)
    logger.log(
        level,
        "job %s: %s",
        job.pk,
        event,
        extra={
            "event": event,
            "job_id": job.pk,
            "campaign": job.campaign.name,
            "action": job.action,
            "attempt": job.attempts,
            "total": job.total,
            "processed": job.processed,
            "inserted": job.inserted,
            "updated": job.updated,
            "rejected": job.rejected,
            "duration_s": round(seconds, 3),
        },
    )


class LostRace(Exception):
    """A chunk's write met a value a concurrent job stored first: check it again."""


def commit_chunk(job: UploadJob, plan, prepared, checked=None) -> tuple[object, bool]:
    """Write ``prepared`` (checked against the database here unless ``checked`` is
    given) and record its outcome, in one transaction (a savepoint inside the pipeline's
    ``Group`` on SQLite); when the write lost a race, it is rolled back and the chunk
    checked again. Returns the chunk as written and whether it was checked again."""
    started = time.monotonic()
    offset = prepared.first
    raced = False
    for attempt in range(1, WRITE_ATTEMPTS + 1):
        if checked is None:
            checked = plan.check(prepared)
        try:
            with transaction.atomic():
                try:
                    plan.write(checked)
                except (IntegrityError, OperationalError) as exc:
                    if attempt == WRITE_ATTEMPTS or not writers.lost_race(exc):
                        raise
                    raise LostRace() from exc
                done = record_outcome(job, plan, checked, offset)
                count_rows(plan.outcome, done, len(checked.rejected))
            break
        except LostRace:
            logger.info("job %s: chunk at %d lost a race; checking again", job.pk, offset)
            checked, raced = None, True
            plan.lost_race()
    rejected = checked.rejected
    plan.committed(checked)
    job.processed = offset + checked.size
    job.rejected += len(rejected)
    setattr(job, plan.outcome, getattr(job, plan.outcome) + done)
    seconds = time.monotonic() - started
    metrics.observe(metrics.CHUNK_SECONDS, seconds)
    log_chunk(job, offset, checked.size, len(rejected), seconds)
    return checked, raced


def count_rows(outcome: str, done: int, rejected: int) -> None:
    """A chunk's rows go into the metrics once its transaction commits (on SQLite, its
    group's): the rows of a group rolled back are counted when they are written again,
    not twice."""

    def count() -> None:
        metrics.record(metrics.ROWS, outcome, amount=done)
        metrics.record(metrics.ROWS, "rejected", amount=rejected)

    transaction.on_commit(count)


def record_outcome(job: UploadJob, plan, checked, offset: int) -> int:
    """Store a chunk's rejected rows and advance the job's counts and checkpoint (in the
    chunk's transaction); the number of rows that went in."""
    rejected = checked.rejected
    writers.insert_row_results(checked.results)
    done = checked.size - len(rejected)
    advanced = UploadJob.objects.filter(
        pk=job.pk, state=UploadJob.State.RUNNING, run_token=job.run_token, processed=offset
    ).update(
        processed=offset + checked.size,
        rejected=job.rejected + len(rejected),
        heartbeat_at=timezone.now(),
        **{plan.outcome: getattr(job, plan.outcome) + done},
    )
    if not advanced:
        raise JobLost()
    return done


def log_chunk(job: UploadJob, offset: int, rows: int, rejected: int, seconds: float) -> None:
    logger.debug(
        "job %s: chunk at %d committed",
        job.pk,
        offset,
        extra={
            "event": "chunk",
            "job_id": job.pk,
            "offset": offset,
            "rows": rows,
            "rejected": rejected,
            "duration_s": round(seconds, 3),
        },
    )
