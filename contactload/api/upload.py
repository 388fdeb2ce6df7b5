"""``POST /api/bulkphonebookupload/v1/`` (CONTRACT 2): read the body within its
limit, hand it to ``ingest.submit``, answer with the job."""

from django.conf import settings
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from contactload import errors
from contactload.access import may_use_upload_api
from contactload.ingest.submit import accepted_body, accepted_status, submit_json_upload


def read_body(request, limit: int) -> bytes:
    """The request body, refused before reading when it announces more than ``limit``."""
    try:
        announced = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        announced = 0
    if announced > limit:
        raise errors.BodyTooLarge(limit)
    body = request._request.read(limit + 1)
    if len(body) > limit:
        raise errors.BodyTooLarge(limit)
    return body


class BulkUploadView(APIView):
    parser_classes = []  # the body is read and parsed by ingest, never by DRF

    @extend_schema(
        request=OpenApiTypes.OBJECT,
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
        body = read_body(request, settings.CONTACTLOAD_MAX_BODY_BYTES)
        job = submit_json_upload(user=request.user, body=body)
        return Response(accepted_body(job), status=accepted_status(job))
