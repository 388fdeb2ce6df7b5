"""Background tasks (django-tasks API; the django-tasks-db backend runs them).
Each task body is one call into ``contactload.ingest``."""

from django_tasks import task

from contactload.ingest.run import run_job


@task()
def process_upload(job_id: str) -> None:
    run_job(job_id)
