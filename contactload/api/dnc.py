"""``POST /api/upload-dnc/`` and ``POST /api/remove-dnc/`` (CONTRACT 5.4): read the body
within its limit, hand it to ``ingest.dnc``, answer in Flexydial's ``{"detail": ...}``
shape. ``DncView.handle_exception`` is the one place the DNC API renders its errors."""

import logging

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework.exceptions import APIException
from rest_framework.response import Response
from rest_framework.views import APIView

from contactload import errors
from contactload.access import may_use_upload_api
from contactload.api.throttles import UploadRateThrottle
from contactload.api.upload import read_body
from contactload.ingest import dnc

logger = logging.getLogger("contactload.api")

ITEM = {
    "type": "object",
    "properties": {
        "numeric": {"type": "string"},
        "campaign": {"type": "string", "description": "a campaign's name; empty: global"},
        "global_dnc": {"type": "string", "enum": ["true", "false"]},
        "status": {"type": "string", "enum": ["Active", "Inactive"]},
    },
    "required": ["numeric"],
}
DETAIL = OpenApiResponse(OpenApiTypes.OBJECT, description='{"detail": "..."}')


def answer(name: str, message: str, status: int = 200) -> OpenApiExample:
    return OpenApiExample(
        name, value={"detail": message}, response_only=True, status_codes=[str(status)]
    )


def schema(item: dict, request_example: list, examples: list) -> extend_schema:
    return extend_schema(
        request={"application/json": {"type": "array", "items": item}},
        responses={code: DETAIL for code in (200, 400, 403, 404, 409, 413)},
        examples=[OpenApiExample("Request", value=request_example, request_only=True), *examples],
    )


class DncView(APIView):
    parser_classes = []  # the body is read and parsed by ingest, never by DRF
    throttle_classes = [UploadRateThrottle]
    apply = None  # staticmethod(ingest.dnc's add_entries or remove_entries)

    def post(self, request):
        if not may_use_upload_api(request.user):
            raise errors.Forbidden()
        body = read_body(request, settings.CONTACTLOAD_MAX_BODY_BYTES)
        return Response({"detail": self.apply(user=request.user, body=body)})

    def handle_exception(self, exc):
        if isinstance(exc, APIException | Http404 | PermissionDenied):
            return super().handle_exception(exc)  # DRF's own {"detail": ...}: 401, 429...
        if not isinstance(exc, errors.UploadError):
            logger.exception("unexpected error in %s", type(self).__name__, exc_info=exc)
            exc = errors.Unexpected()
        return Response({"detail": exc.message}, status=exc.status)


class UploadDncView(DncView):
    apply = staticmethod(dnc.add_entries)

    @schema(
        ITEM,
        [
            {"numeric": "6300868437", "campaign": "", "global_dnc": "true", "status": "Inactive"},
            {"numeric": "6300868438", "campaign": "Sales", "global_dnc": "false"},
        ],
        [
            answer("Added", dnc.ADDED),
            answer("Already listed", "DNC number 6300868437 already exists.", 409),
        ],
    )
    def post(self, request):
        return super().post(request)


class RemoveDncView(DncView):
    apply = staticmethod(dnc.remove_entries)

    @schema(
        {**ITEM, "properties": {k: v for k, v in ITEM["properties"].items() if k != "status"}},
        [{"numeric": "6300868437"}, {"numeric": "6300868438", "campaign": "Sales"}],
        [
            answer("Removed", dnc.REMOVED),
            answer("Not listed", "DNC number 6300868437 does not exist.", 404),
        ],
    )
    def post(self, request):
        return super().post(request)
