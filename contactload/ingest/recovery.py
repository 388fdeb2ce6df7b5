"""Crash recovery, run by every live worker: a running job whose heartbeat went
stale (its worker died) is queued again to resume after its last committed chunk,
or failed for good once it has used its attempts; a queued job that lost its
task (a crash between commit and enqueue) is enqueued again."""

import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django_tasks.base import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from contactload.ingest import callbacks
from contactload.models import UploadJob
from contactload.tasks import enqueue_job, job_of, process_upload

logger = logging.getLogger("contactload.recovery")


def recover() -> list[str]:
    """Requeue or fail what needs it; the ids of the jobs touched."""
    cutoff = timezone.now() - timedelta(seconds=settings.CONTACTLOAD_STALE_AFTER_S)
    return requeue_stale(cutoff) + enqueue_orphans(cutoff)


def requeue_stale(cutoff) -> list[str]:
    stale = UploadJob.objects.filter(state=UploadJob.State.RUNNING, heartbeat_at__lt=cutoff)
    touched = []
    for job_id, token, attempts in stale.values_list("pk", "run_token", "attempts"):
        this_run = UploadJob.objects.filter(
            pk=job_id, state=UploadJob.State.RUNNING, run_token=token, heartbeat_at__lt=cutoff
        )
        error = f"the worker running attempt {attempts} stopped responding"
        give_up = attempts >= settings.CONTACTLOAD_MAX_ATTEMPTS
        with transaction.atomic():
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
