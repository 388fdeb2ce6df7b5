"""Accepting an upload: whole-request checks, then the phonebook, the job, the rows
(in compressed chunks) and the Idempotency-Key in one transaction; the job is
enqueued once that transaction commits. Raises an UploadError for a bad request
and writes nothing then. CSV is read line by line and never held whole: its rows are
packed into a temporary file before the transaction, which stays short."""

import codecs
import csv
import secrets
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from itertools import islice

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from contactload import errors
from contactload.access import may_reach
from contactload.ingest import envelope, writers
from contactload.ingest.callbacks import check_callback_url
from contactload.ingest.campaign import load_rules
from contactload.ingest.idempotency import Answer
from contactload.ingest.payload import PackedSpool, pack_objects, store_chunks
from contactload.models import Campaign, Phonebook, UploadJob
from contactload.tasks import enqueue_job


def new_phonebook_name(campaign: Campaign) -> str:
    stamp = timezone.now().strftime("%Y%m%d%H%M%S")
    return f"{campaign.name}_{stamp}_{secrets.token_hex(4)}"


def check_callback(upload: envelope.Envelope) -> None:
    """A callback URL must be usable (it is resolved: not a pure check, so not in envelope)."""
    if upload.callback_url:
        check_callback_url(upload.callback_url)


def find_campaign(user, name: str) -> Campaign:
    """Rows 6-7 of CONTRACT 2.3."""
    # No campaign name holds a NUL, and PostgreSQL refuses one in a query.
    campaign = None if "\x00" in name else Campaign.objects.filter(name=name).first()
    if campaign is None:
        raise errors.CampaignNotPresent()
    if not may_reach(user, campaign):
        raise errors.Forbidden()
    return campaign


def submit_json_upload(*, user, body: bytes, remember=None) -> Answer:
    upload = envelope.check_structure(envelope.parse_json(body))
    check_callback(upload)
    campaign = find_campaign(user, upload.campaign)
    headers = envelope.check_rows(
        upload, load_rules(campaign), max_rows=settings.CONTACTLOAD_MAX_ROWS
    )
    packed = pack_objects(upload.rows, headers, settings.CONTACTLOAD_CHUNK_ROWS)
    with writers.short_write():
        job = new_job(user, campaign, upload, headers, UploadJob.Source.JSON)
        stored(job, store_chunks(job, packed))
        return answer(job, remember)


def submit_csv_upload(*, user, fields, lines: Iterable[bytes], remember=None) -> Answer:
    """A CSV upload: ``fields`` hold campaign/action_type/reference_field/callback_url,
    ``lines`` the file's lines as bytes (UTF-8, with or without BOM)."""
    upload = envelope.check_fields(fields)
    check_callback(upload)
    campaign = find_campaign(user, upload.campaign)
    records = csv_records(lines)
    headers = [header.strip() for header in next(records, None) or []]
    if not headers:
        raise errors.InvalidStructure()
    envelope.check_csv_headers(headers, upload, load_rules(campaign))
    rows = (cells for cells in records if cells)  # blank lines are no rows
    # read and packed before the transaction, which then only stores the chunks
    with packed_rows(rows, len(headers)) as spool, writers.short_write():
        job = new_job(user, campaign, upload, headers, UploadJob.Source.CSV)
        stored(job, store_chunks(job, spool.chunks()))
        return answer(job, remember)


def new_job(user, campaign, upload: envelope.Envelope, headers, source) -> UploadJob:
    phonebook = Phonebook.objects.create(
        name=new_phonebook_name(campaign), campaign=campaign, created_by=user
    )
    return UploadJob.objects.create(
        campaign=campaign,
        phonebook=phonebook,
        action=upload.action,
        reference_field=upload.reference,
        headers=list(headers),
        source=source,
        callback_url=upload.callback_url,
        created_by=user,
    )


@contextmanager
def packed_rows(rows: Iterable, width: int) -> Iterator[PackedSpool]:
    """A CSV's rows packed into a spool, within the row limit."""
    limit = settings.CONTACTLOAD_MAX_CSV_ROWS
    rows = iter(rows)
    with PackedSpool(width, settings.CONTACTLOAD_CHUNK_ROWS) as spool:
        spool.add_all(islice(rows, limit))
        if not spool.count:
            raise errors.InvalidStructure()  # a CSV with a header line and no data
        beyond = sum(1 for _row in rows)  # counted, not stored, for the message
        if beyond:
            raise errors.TooManyRows(limit + beyond, limit)
        yield spool


def stored(job: UploadJob, total: int) -> None:
    """The job holds its ``total`` rows: it is enqueued when the transaction commits."""
    job.total = total
    job.save(update_fields=["total"])
    transaction.on_commit(lambda: enqueue_job(job.pk))


def decoded(lines: Iterable[bytes]) -> Iterator[str]:
    decoder = codecs.getincrementaldecoder("utf-8-sig")()
    try:
        for line in lines:
            yield decoder.decode(line)
        yield decoder.decode(b"", final=True)
    except UnicodeDecodeError as exc:
        raise errors.InvalidJson(
            f"the CSV is not UTF-8 ({exc.reason} at byte {exc.start})"
        ) from None


def csv_records(lines: Iterable[bytes]) -> Iterator[list[str]]:
    """The CSV's records, with a parse error made into the contract's row 1 answer."""
    reader = csv.reader(decoded(lines))
    try:
        yield from reader
    except csv.Error as exc:
        raise errors.InvalidJson(f"CSV line {reader.line_num}: {exc}") from None


def answer(job: UploadJob, remember=None) -> Answer:
    """CONTRACT 2.2's answer; recorded with the Idempotency-Key, when there is one,
    in the job's transaction."""
    status = 200 if job.action == UploadJob.Action.INSERT else 201
    body = {"success": f"Reference/Phonebook Name:{job.phonebook.name}", "job_id": job.pk}
    if remember is not None:
        remember(job, (status, body))
    return status, body
