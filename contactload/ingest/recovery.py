"""Crash recovery, run by every live worker: a running job whose heartbeat went
stale (its worker died) is queued again to resume after its last committed chunk,
or failed for good once it has used its attempts; a queued job that lost its
task (a crash between commit and enqueue) is enqueued again; a task a dead worker
left running is marked failed (the health report counted it as running for ever)."""

import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django_tasks.base import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from contactload.ingest import callbacks, liveness, writers
from contactload.models import UploadJob
from contactload.tasks import enqueue_job, job_of, process_upload

logger = logging.getLogger("contactload.recovery")


def recover() -> list[str]:
    """Requeue or fail what needs it; the ids of the jobs touched."""
    cutoff = timezone.now() - timedelta(seconds=settings.CONTACTLOAD_STALE_AFTER_S)
    touched = requeue_stale(cutoff) + enqueue_orphans(cutoff)
    fail_lost_tasks(cutoff)
    return touched


def requeue_stale(cutoff) -> list[str]:
    stale = UploadJob.objects.filter(state=UploadJob.State.RUNNING, heartbeat_at__lt=cutoff)
    touched = []
    for job_id, token, attempts in stale.values_list("pk", "run_token", "attempts"):
        this_run = UploadJob.objects.filter(
            pk=job_id, state=UploadJob.State.RUNNING, run_token=token, heartbeat_at__lt=cutoff
        )
        error = f"the worker running attempt {attempts} stopped responding"
        give_up = attempts >= settings.CONTACTLOAD_MAX_ATTEMPTS
        with writers.short_write():
            if give_up:
                changed = this_run.update(
                    state=UploadJob.State.FAILED, error=error, finished_at=timezone.now()
                )
                if changed:
                    transaction.on_commit(lambda job_id=job_id: callbacks.schedule(job_id))
            else:
                changed = this_run.update(state=UploadJob.State.QUEUED, run_token="", error=error)
                if changed:
                    transaction.on_commit(lambda job_id=job_id: enqueue_job(job_id))
        if changed:
            logger.warning("job %s: %s; %s", job_id, error, "failed" if give_up else "requeued")
            touched.append(job_id)
    return touched


def enqueue_orphans(cutoff) -> list[str]:
    waiting = DBTaskResult.objects.filter(
        status=TaskResultStatus.READY, task_path=process_upload.module_path
    ).values_list("args_kwargs", flat=True)
    queued_ids = set(map(job_of, waiting))
    orphans = [
        job_id
        for job_id in UploadJob.objects.filter(
            state=UploadJob.State.QUEUED, created_at__lt=cutoff
        ).values_list("pk", flat=True)
        if job_id not in queued_ids
    ]
    for job_id in orphans:
        logger.warning("job %s was queued without a task; enqueueing it", job_id)
        enqueue_job(job_id)
    return orphans


class WorkerLost(Exception):
    """What a task a dead worker left running is failed with."""


LOST = "the worker running this task stopped responding"


def fail_lost_tasks(cutoff) -> list[str]:
    """Tasks left running by workers whose beat is older than ``cutoff`` (or gone: a
    worker that stops removes its row once its task is done) are marked failed; their
    jobs are ``requeue_stale``'s. An upload's task whose job still beats is left alone
    (its worker's own beats may be late). The ids of the tasks."""
    alive = set(liveness.beating_since(cutoff).values_list("worker_id", flat=True))
    running = DBTaskResult.objects.filter(status=TaskResultStatus.RUNNING, started_at__lt=cutoff)
    suspects = {
        pk: job_of(args_kwargs) if task_path == process_upload.module_path else None
        for pk, worker_ids, task_path, args_kwargs in running.values_list(
            "pk", "worker_ids", "task_path", "args_kwargs"
        )
        if not worker_ids or worker_ids[-1] not in alive
    }
    beating = set(
        UploadJob.objects.filter(
            pk__in={job for job in suspects.values() if job},
            state=UploadJob.State.RUNNING,
            heartbeat_at__gte=cutoff,
        ).values_list("pk", flat=True)
    )
    lost = [pk for pk, job in suspects.items() if job not in beating]
    if not lost:
        return []
    DBTaskResult.objects.filter(pk__in=lost, status=TaskResultStatus.RUNNING).update(
        status=TaskResultStatus.FAILED,
        finished_at=timezone.now(),
        exception_class_path=f"{WorkerLost.__module__}.{WorkerLost.__qualname__}",
        traceback=f"{WorkerLost.__qualname__}: {LOST}\n",
        return_value=None,
    )
    logger.warning("%d task(s) left running by a dead worker marked failed", len(lost))
    return [str(pk) for pk in lost]
