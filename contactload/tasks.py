"""Background tasks (django-tasks API; the django-tasks-db backend runs them).
Each task body is one call into ``contactload.ingest``."""

from datetime import timedelta

from django.utils import timezone
from django_tasks import task

from contactload.ingest.callbacks import deliver
from contactload.ingest.run import run_job


@task()
def process_upload(job_id: str) -> None:
    run_job(job_id)


def drop_queued_runs(job_id: str) -> None:
    """Take the job's waiting runs off the queue (a worker that follows one job with the
    next claimed it; a run taken by a worker meanwhile finds it claimed, and ends)."""
    from django_tasks.base import TaskResultStatus
    from django_tasks_db.models import DBTaskResult

    DBTaskResult.objects.filter(
        status=TaskResultStatus.READY,
        task_path=process_upload.module_path,
        args_kwargs__args__0=job_id,
    ).delete()


def enqueue_job(job_id: str, delay_s: float = 0) -> None:
    """Queue a run of the job, after ``delay_s`` seconds."""
    if delay_s:
        when = timezone.now() + timedelta(seconds=delay_s)
        process_upload.using(run_after=when).enqueue(job_id)
    else:
        process_upload.enqueue(job_id)


@task()
def deliver_callback(job_id: str, attempt: int) -> None:
    deliver(job_id, attempt)


def enqueue_callback(job_id: str, attempt: int = 1, delay_s: float = 0) -> None:
    """Queue attempt ``attempt`` at the job's completion callback, after ``delay_s`` seconds."""
    if delay_s:
        when = timezone.now() + timedelta(seconds=delay_s)
        deliver_callback.using(run_after=when).enqueue(job_id, attempt)
    else:
        deliver_callback.enqueue(job_id, attempt)
