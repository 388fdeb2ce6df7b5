"""A job's status body (CONTRACT 4): Flexydial's ``status`` strings and
``improper_data``, plus contactload's fields. Reads only."""

from django.conf import settings

from contactload import errors
from contactload.access import reachable_campaigns
from contactload.models import RowResult, UploadJob

PENDING = "Pending state. Please check with Administrator!"
FAILED = "Oops Something went wrong, Please contact Administrator"


def visible_job(user, job_id: str) -> UploadJob:
    job = (
        UploadJob.objects.select_related("campaign", "phonebook")
        .filter(pk=job_id, campaign__in=reachable_campaigns(user))
        .first()
    )
    if job is None:
        raise errors.JobNotFound()
    return job


def iso(moment) -> str | None:
    return moment.isoformat() if moment else None


def improper_item(result: RowResult) -> dict:
    codes: dict[str, list[str]] = {}
    for header, code, _message in result.errors:
        codes.setdefault(header, []).append(code)
    messages = dict.fromkeys(message for _header, _code, message in result.errors)
    return {
        **result.data,
        "description": ", ".join(messages),
        "row": result.row,
        "error_codes": codes,
    }


def status_body(job: UploadJob, *, improper_data_csv: str | None = None) -> dict:
    """The body for ``job``; a cut ``improper_data`` links to ``improper_data_csv``."""
    facts = {
        "job_id": job.pk,
        "campaign": job.campaign.name,
        "phonebook": job.phonebook.name if job.phonebook else None,
        "action_type": job.action,
        "state": job.state,
        "progress": (100 * job.processed // job.total) if job.total else 100,
        "total": job.total,
        "inserted": job.inserted,
        "updated": job.updated,
        "rejected": job.rejected,
        "created_at": iso(job.created_at),
        "started_at": iso(job.started_at),
        "finished_at": iso(job.finished_at),
    }
    if job.state == UploadJob.State.FAILED:
        return {"status": "Failed", "errors": FAILED, **facts}
    if job.state != UploadJob.State.COMPLETED:
        return {"status": PENDING, **facts}
    if not job.rejected:
        return {"status": "Completed", **facts}
    limit = settings.CONTACTLOAD_IMPROPER_DATA_LIMIT
    results = list(RowResult.objects.filter(job=job).order_by("row")[: limit + 1])
    truncated = len(results) > limit
    link = {"improper_data_csv": improper_data_csv} if truncated and improper_data_csv else {}
    return {
        "status": "Invalid Data",
        "improper_data": [improper_item(result) for result in results[:limit]],
        "improper_data_truncated": truncated,
        **link,
        **facts,
    }
