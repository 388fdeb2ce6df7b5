"""``POST /api/bulkphonebookupload/v1/`` (CONTRACT 2, 5.1): read the body within its
limit, hand it to ``ingest.submit``, answer with the job. JSON bodies, CSV bodies
(options as query parameters) and multipart forms with a CSV ``file``."""

import tempfile

from django.conf import settings
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from contactload import errors
from contactload.access import may_use_upload_api
from contactload.ingest.submit import (
    accepted_body,
    accepted_status,
    submit_csv_upload,
    submit_json_upload,
)

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
    """The body in a temporary file (read in blocks, never whole in memory)."""
    refuse_announced(request, limit)
    spool = tempfile.TemporaryFile()  # noqa: SIM115 - the caller closes it
    size = 0
    while block := request._request.read(BLOCK):
        size += len(block)
        if size > limit:
            spool.close()
            raise errors.BodyTooLarge(limit)
        spool.write(block)
    spool.seek(0)
    return spool


class BulkUploadView(APIView):
    parser_classes = []  # the body is read and parsed by ingest, never by DRF

    @extend_schema(
        request={
            "application/json": OpenApiTypes.OBJECT,
            "text/csv": OpenApiTypes.STR,
            "multipart/form-data": OpenApiTypes.OBJECT,
        },
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
        content_type = request.content_type.split(";")[0].strip().lower()
        if content_type == "multipart/form-data":
            job = self.post_form(request)
        elif content_type in ("text/csv", "application/csv"):
            with spool_body(request, settings.CONTACTLOAD_MAX_CSV_BYTES) as spool:
                job = submit_csv_upload(user=request.user, fields=request.GET, lines=spool)
        else:
            body = read_body(request, settings.CONTACTLOAD_MAX_BODY_BYTES)
            job = submit_json_upload(user=request.user, body=body)
        return Response(accepted_body(job), status=accepted_status(job))

    def post_form(self, request):
        refuse_announced(request, settings.CONTACTLOAD_MAX_CSV_BYTES)
        upload = request._request.FILES.get("file")
        if upload is None:
            raise errors.InvalidStructure()
        with upload.open("rb") as lines:
            return submit_csv_upload(user=request.user, fields=request._request.POST, lines=lines)
