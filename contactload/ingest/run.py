"""The worker side of an upload: claim the job, check and write its rows chunk by
chunk, finish. One transaction per chunk writes the chunk's contacts, its
rejected rows, the counts and the checkpoint; a re-run resumes after the last
committed chunk, and a chunk is never committed twice."""

import logging
import traceback

import orjson
from django.db import IntegrityError, OperationalError, transaction
from django.utils import timezone

from contactload.ingest import lookups, payload, writers
from contactload.ingest.campaign import load_rules
from contactload.ingest.insert import InsertPlan
from contactload.ingest.update import UpdatePlan
from contactload.models import RowResult, UploadJob

logger = logging.getLogger("contactload.worker")

# A unique index may object when another job stored the same number after our
# lookup (or the database may pick us as a deadlock victim); the chunk is then
# checked again, and such a row is reported as a duplicate.
WRITE_ATTEMPTS = 5


class ChunkAlreadyCommitted(Exception):
    """Another run of the job committed this chunk first."""


def claim(job_id: str) -> UploadJob | None:
    """Move a queued job to running; None when it is not queued (a harmless re-run)."""
    now = timezone.now()
    claimed = UploadJob.objects.filter(pk=job_id, state=UploadJob.State.QUEUED).update(
        state=UploadJob.State.RUNNING, started_at=now, heartbeat_at=now
    )
    if not claimed:
        return None
    return UploadJob.objects.select_related("campaign").get(pk=job_id)


def run_job(job_id: str) -> None:
    job = claim(job_id)
    if job is None:
        logger.info("job %s is not queued; nothing to do", job_id)
        return
    UploadJob.objects.filter(pk=job.pk).update(attempts=job.attempts + 1)
    try:
        process(job)
    except ChunkAlreadyCommitted:
        logger.warning("job %s is being processed elsewhere; leaving it", job_id)
    except Exception:
        UploadJob.objects.filter(pk=job.pk).update(
            state=UploadJob.State.FAILED, error=traceback.format_exc(), finished_at=timezone.now()
        )
        raise


def process(job: UploadJob) -> None:
    rules = load_rules(job.campaign)
    ctx = lookups.JobContext(
        rules=rules, phonebook_id=job.phonebook_id, agents=lookups.campaign_agents(rules.id)
    )
    if job.action == UploadJob.Action.UPDATE:
        plan = UpdatePlan(ctx, job.reference_field, job.headers, payload.all_rows(job))
    else:
        plan = InsertPlan(ctx)
    for offset, raw_rows in payload.read_chunks(job, job.processed):
        commit_chunk(job, plan, offset, raw_rows)
    UploadJob.objects.filter(pk=job.pk, state=UploadJob.State.RUNNING).update(
        state=UploadJob.State.COMPLETED, finished_at=timezone.now(), heartbeat_at=timezone.now()
    )


def commit_chunk(job: UploadJob, plan, offset: int, raw_rows: list[dict]) -> None:
    with transaction.atomic():
        for attempt in range(1, WRITE_ATTEMPTS + 1):
            rows = plan.check(raw_rows, offset)
            try:
                with transaction.atomic():
                    plan.write(rows)
                break
            except (IntegrityError, OperationalError) as exc:
                if attempt == WRITE_ATTEMPTS or not writers.lost_race(exc):
                    raise
                logger.info("job %s: chunk at %d lost a race; checking again", job.pk, offset)
        rejected = [row for row in rows if not row.ok]
        order = {header: position for position, header in enumerate(job.headers)}
        for row in rejected:  # report a row's messages in the order of its columns
            row.errors.sort(key=lambda error: order.get(error[0], len(order)))
        RowResult.objects.bulk_create(
            RowResult(job_id=job.pk, row=row.row, data=storable(row.raw), errors=row.errors)
            for row in rejected
        )
        done = len(rows) - len(rejected)
        advanced = UploadJob.objects.filter(
            pk=job.pk, state=UploadJob.State.RUNNING, processed=offset
        ).update(
            processed=offset + len(rows),
            rejected=job.rejected + len(rejected),
            heartbeat_at=timezone.now(),
            **{plan.outcome: getattr(job, plan.outcome) + done},
        )
        if not advanced:
            raise ChunkAlreadyCommitted()
    job.processed = offset + len(rows)
    job.rejected += len(rejected)
    setattr(job, plan.outcome, getattr(job, plan.outcome) + done)


def storable(raw: dict) -> dict:
    """The row as sent, safe for a JSON column (PostgreSQL's jsonb refuses NUL)."""
    if b"\\u0000" not in orjson.dumps(raw):
        return raw
    return orjson.loads(orjson.dumps(raw).replace(b"\\u0000", b"\\ufffd"))
