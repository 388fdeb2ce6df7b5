"""The one place request errors become HTTP answers: ``{"errors": "<message>"}``."""

import logging

from django.conf import settings
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from contactload.errors import Unexpected, UploadError

logger = logging.getLogger("contactload.api")


def error_response(exc: UploadError) -> Response:
    status = 500 if settings.CONTACTLOAD_FLEXYDIAL_STATUS_CODES else exc.status
    return Response({"errors": exc.message}, status=status)


def exception_handler(exc, context):
    if isinstance(exc, UploadError):
        return error_response(exc)
    response = drf_exception_handler(exc, context)
    if response is None:
        logger.exception("unexpected error in %s", context.get("view"), exc_info=exc)
        return error_response(Unexpected())
    return response
