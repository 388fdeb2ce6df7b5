"""Structured logs: one event per request (method, path, status, duration, user,
job id), besides the worker's job events. JSON by default; ``text`` for people
(``make run``). The format is chosen by CONTACTLOAD_LOG_FORMAT."""

import logging
import time

logger = logging.getLogger("contactload.request")


class RequestLogMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.monotonic()
        response = self.get_response(request)
        user = getattr(request, "user", None)
        data = getattr(response, "data", None)
        route = request.resolver_match.kwargs if request.resolver_match else {}
        job_id = (data.get("job_id") if isinstance(data, dict) else None) or route.get("job_id")
        logger.info(
            "%s %s %s",
            request.method,
            request.path,
            response.status_code,
            extra={
                "event": "request",
                "method": request.method,
                "path": request.path,
                "status": response.status_code,
                "duration_ms": round((time.monotonic() - started) * 1000, 1),
                "user": getattr(user, "username", None) or None,
                "job_id": job_id,
            },
        )
        return response
