"""Idempotent retries (CONTRACT 5.3): the same user, key and request answer with the
first answer and create nothing; the same key with another request is refused.
The key is stored in the job's own transaction, so concurrent retries race on
its unique index and every loser answers with the winner's response."""

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

import orjson
from django.conf import settings
from django.db import IntegrityError
from django.utils import timezone

from contactload import errors
from contactload.models import IdempotencyKey, UploadJob

Answer = tuple[int, dict]  # HTTP status, body


def check_key(key: str | None) -> str | None:
    if key is None:
        return None
    if not 0 < len(key) <= 255 or not key.isprintable():
        raise errors.InvalidIdempotencyKey()
    return key


def fingerprint(*parts: bytes) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


@dataclass(frozen=True, slots=True)
class Remember:
    """Called by ``submit`` inside the job's transaction."""

    user: object
    key: str
    fingerprint: str

    def __call__(self, job: UploadJob, answer: Answer) -> None:
        IdempotencyKey.objects.filter(
            user=self.user, key=self.key, created_at__lt=cutoff()
        ).delete()
        IdempotencyKey.objects.create(
            user=self.user,
            key=self.key,
            fingerprint=self.fingerprint,
            job=job,
            status=answer[0],
            response=orjson.dumps(answer[1]).decode(),
        )


def cutoff():
    return timezone.now() - timedelta(hours=settings.CONTACTLOAD_IDEMPOTENCY_TTL_HOURS)


def replay(user, key: str, digest: str) -> Answer | None:
    record = IdempotencyKey.objects.filter(user=user, key=key, created_at__gte=cutoff()).first()
    if record is None:
        return None
    if record.fingerprint != digest:
        raise errors.IdempotencyKeyReused(key)
    return record.status, orjson.loads(record.response)


def once(user, key: str | None, digest: str, submit: Callable[[Remember | None], Answer]) -> Answer:
    """Run ``submit`` unless this key already has an answer for this request."""
    if key is None:
        return submit(None)
    if (answer := replay(user, key, digest)) is not None:
        return answer
    try:
        return submit(Remember(user, key, digest))
    except IntegrityError:
        # A concurrent retry with the same key committed first: answer as it did.
        if (answer := replay(user, key, digest)) is not None:
            return answer
        raise
