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


def next_runs(limit: int) -> list[str | None]:
    """What the queue gives next, in the order a worker takes it: the job id of each of the
    first ``limit`` ready tasks that run an upload, None for a task of another kind."""
    from django_tasks_db.models import DBTaskResult

    ready = DBTaskResult.objects.ready().filter(
        backend_name=process_upload.backend, queue_name=process_upload.queue_name
    )
    return [
        job_of(args) if path == process_upload.module_path else None
        for path, args in ready.values_list("task_path", "args_kwargs")[:limit]
    ]


def job_of(args_kwargs: dict) -> str | None:
    """The job id a run of ``process_upload`` was queued with."""
    positional = args_kwargs.get("args") or []
    return positional[0] if positional else (args_kwargs.get("kwargs") or {}).get("job_id")


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
