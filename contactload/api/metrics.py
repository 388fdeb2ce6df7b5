"""``GET /metrics``: Prometheus exposition, for a scraper holding the configured
bearer token or calling from an allowed network (default: this machine only)."""

import hmac
import ipaddress

from django.conf import settings
from django.http import HttpResponse
from prometheus_client import CONTENT_TYPE_LATEST

from contactload.metrics import exposition


def allowed(request) -> bool:
    token = settings.CONTACTLOAD_METRICS_TOKEN
    sent = request.headers.get("Authorization", "")
    if token and hmac.compare_digest(sent.encode(), f"Bearer {token}".encode()):
        return True
    try:
        client = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
    except ValueError:
        return False
    return any(client in ipaddress.ip_network(net) for net in settings.CONTACTLOAD_METRICS_ALLOW)


def metrics_view(request):
    if not allowed(request):
        return HttpResponse("Forbidden\n", status=403, content_type="text/plain")
    return HttpResponse(exposition(), content_type=CONTENT_TYPE_LATEST)
