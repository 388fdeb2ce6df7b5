"""``POST /api/bulkphonebookupload/v1/`` (CONTRACT 2, 5.1): read the body within its
limit, hand it to ``ingest.submit``, answer with the job. JSON bodies, CSV bodies
(options as query parameters) and multipart forms with a CSV ``file``."""

import hashlib
import tempfile

from django.conf import settings
from django.core.exceptions import SuspiciousOperation
from django.http.multipartparser import MultiPartParserError
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from contactload import errors
from contactload.access import may_use_upload_api
from contactload.api.examples import UPLOAD_EXAMPLES
from contactload.api.throttles import UploadRateThrottle
from contactload.ingest import idempotency
from contactload.ingest.idempotency import fingerprint
from contactload.ingest.submit import submit_csv_upload, submit_json_upload
from contactload.metrics import UPLOADS, record

BLOCK = 1024 * 1024


def refuse_announced(request, limit: int) -> None:
    """Refuse, before reading anything, a body that announces more than ``limit``."""
    try:
        announced = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        announced = 0
    if announced > limit:
        raise errors.BodyTooLarge(limit)


def read_body(request, limit: int) -> bytes:
    refuse_announced(request, limit)
    body = request._request.read(limit + 1)
    if len(body) > limit:
        raise errors.BodyTooLarge(limit)
    return body


def spool_body(request, limit: int):
    """The body in a temporary file (read in blocks, never whole in memory), and
    its digest."""
    refuse_announced(request, limit)
    spool = tempfile.TemporaryFile()  # noqa: SIM115 - the caller closes it
    size, digest = 0, hashlib.sha256()
    while block := request._request.read(BLOCK):
        size += len(block)
        if size > limit:
            spool.close()
            raise errors.BodyTooLarge(limit)
        spool.write(block)
        digest.update(block)
    spool.seek(0)
    return spool, digest.digest()


def file_digest(upload) -> bytes:
    digest = hashlib.sha256()
    for block in upload.chunks(BLOCK):
        digest.update(block)
    return digest.digest()


def form_file(request):
    """The form's ``file``, or None; a form that cannot be parsed is the contract's row 1."""
    try:
        return request._request.FILES.get("file")
    except (MultiPartParserError, SuspiciousOperation) as exc:
        raise errors.InvalidJson(f"the multipart form cannot be read ({exc})") from None


def form_fields(request) -> bytes:
    fields = request._request.POST
    return "&".join(f"{key}={fields.get(key)}" for key in sorted(fields)).encode()


class BulkUploadView(APIView):
    parser_classes = []  # the body is read and parsed by ingest, never by DRF
    throttle_classes = [UploadRateThrottle]

    @extend_schema(
        request={
            "application/json": OpenApiTypes.OBJECT,
            "text/csv": OpenApiTypes.STR,
            "multipart/form-data": OpenApiTypes.OBJECT,
        },
        examples=UPLOAD_EXAMPLES,
        responses={
            200: OpenApiResponse(OpenApiTypes.OBJECT, description="insert accepted"),
            201: OpenApiResponse(OpenApiTypes.OBJECT, description="update accepted"),
            400: OpenApiResponse(OpenApiTypes.OBJECT, description='{"errors": "..."}'),
            403: OpenApiResponse(OpenApiTypes.OBJECT, description='{"errors": "..."}'),
            413: OpenApiResponse(OpenApiTypes.OBJECT, description='{"errors": "..."}'),
        },
    )
    def post(self, request):
        if not may_use_upload_api(request.user):
            raise errors.Forbidden()
        user = request.user
        key = idempotency.check_key(request.headers.get("Idempotency-Key"))
        content_type = request.content_type.split(";")[0].strip().lower()
        if content_type == "multipart/form-data":
            refuse_announced(request, settings.CONTACTLOAD_MAX_CSV_BYTES)
            upload = form_file(request)
            if upload is None:
                raise errors.InvalidStructure()
            fields = request._request.POST
            digest = fingerprint(b"form", form_fields(request), file_digest(upload))
            with upload.open("rb") as lines:
                status, body = idempotency.once(
                    user,
                    key,
                    digest,
                    lambda remember: submit_csv_upload(
                        user=user, fields=fields, lines=lines, remember=remember
                    ),
                )
        elif content_type in ("text/csv", "application/csv"):
            spool, content = spool_body(request, settings.CONTACTLOAD_MAX_CSV_BYTES)
            with spool:
                digest = fingerprint(b"csv", request.META.get("QUERY_STRING", "").encode(), content)
                status, body = idempotency.once(
                    user,
                    key,
                    digest,
                    lambda remember: submit_csv_upload(
                        user=user, fields=request.GET, lines=spool, remember=remember
                    ),
                )
        else:
            raw = read_body(request, settings.CONTACTLOAD_MAX_BODY_BYTES)
            status, body = idempotency.once(
                user,
                key,
                fingerprint(b"json", raw) if key else "",  # (only a key's answers need it)
                lambda remember: submit_json_upload(user=user, body=raw, remember=remember),
            )
        record(UPLOADS, "accepted", "")
        return Response(body, status=status)

    def handle_exception(self, exc):
        record(UPLOADS, "refused", getattr(exc, "code", None) or type(exc).__name__)
        return super().handle_exception(exc)
