"""Accepting an upload: whole-request checks, then the phonebook, the job and the
payload in one transaction; the job is enqueued once that transaction commits.
Raises an UploadError for a bad request and writes nothing then."""

import secrets
import zlib

import orjson
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from contactload import errors
from contactload.access import may_reach
from contactload.ingest import envelope
from contactload.ingest.campaign import load_rules
from contactload.models import Campaign, Phonebook, UploadJob, UploadPayload
from contactload.tasks import process_upload


def new_phonebook_name(campaign: Campaign) -> str:
    stamp = timezone.now().strftime("%Y%m%d%H%M%S")
    return f"{campaign.name}_{stamp}_{secrets.token_hex(4)}"


def find_campaign(user, name: str) -> Campaign:
    """Rows 6-7 of CONTRACT 2.3."""
    campaign = Campaign.objects.filter(name=name).first()
    if campaign is None:
        raise errors.CampaignNotPresent()
    if not may_reach(user, campaign):
        raise errors.Forbidden()
    return campaign


def submit_json_upload(*, user, body: bytes) -> UploadJob:
    upload = envelope.check_structure(envelope.parse_json(body))
    campaign = find_campaign(user, upload.campaign)
    headers = envelope.check_rows(
        upload, load_rules(campaign), max_rows=settings.CONTACTLOAD_MAX_ROWS
    )
    payload = zlib.compress(orjson.dumps(upload.rows), 1)
    return store_job(
        user=user,
        campaign=campaign,
        action=upload.action,
        reference=upload.reference,
        headers=headers,
        total=len(upload.rows),
        callback_url=upload.callback_url,
        payload=payload,
        encoding="json+zlib",
    )


def store_job(
    *, user, campaign, action, reference, headers, total, callback_url, payload, encoding
):
    with transaction.atomic():
        phonebook = Phonebook.objects.create(
            name=new_phonebook_name(campaign), campaign=campaign, created_by=user
        )
        job = UploadJob.objects.create(
            campaign=campaign,
            phonebook=phonebook,
            action=action,
            reference_field=reference,
            headers=list(headers),
            total=total,
            callback_url=callback_url,
            created_by=user,
        )
        UploadPayload.objects.create(job=job, encoding=encoding, data=payload)
        transaction.on_commit(lambda: process_upload.enqueue(job.pk))
    return job


def accepted_body(job: UploadJob) -> dict:
    """CONTRACT 2.2."""
    return {"success": f"Reference/Phonebook Name:{job.phonebook.name}", "job_id": job.pk}


def accepted_status(job: UploadJob) -> int:
    return 200 if job.action == UploadJob.Action.INSERT else 201
