"""Per-token rate limits on uploads and status reads (429 with Retry-After).

Rates come from ``CONTACTLOAD_RATES`` at each request, so they can be changed
without a restart of the code that defines them. Counts live in Django's cache, on
disk (settings.CACHES), so every web process of the host counts against one limit."""

from django.conf import settings
from rest_framework.throttling import SimpleRateThrottle


class TokenRateThrottle(SimpleRateThrottle):
    def get_rate(self):
        return settings.CONTACTLOAD_RATES.get(self.scope)

    def allow_request(self, request, view):
        self.rate = self.get_rate()
        self.num_requests, self.duration = self.parse_rate(self.rate)
        return super().allow_request(request, view)

    def get_cache_key(self, request, view):
        token = getattr(request, "auth", None)
        if token is None:
            return None  # not authenticated: refused before any work is done
        return self.cache_format % {"scope": self.scope, "ident": token.digest[:40]}


class UploadRateThrottle(TokenRateThrottle):
    scope = "uploads"


class StatusRateThrottle(TokenRateThrottle):
    scope = "status"
