"""Token authentication (CONTRACT 1): knox's hashed tokens under the ``Token`` prefix."""

from django.db import transaction
from django.utils import timezone
from knox.auth import TokenAuthentication as KnoxTokenAuthentication


class TokenAuthentication(KnoxTokenAuthentication):
    """Knox, minus its sweep of all the user's other tokens on every request
    (an integrator that asks for a token per push would make that O(tokens))."""

    def _cleanup_token(self, auth_token) -> bool:
        if auth_token.expiry is not None and auth_token.expiry < timezone.now():
            with transaction.atomic():  # (on SQLite, a job running stands aside: the backend)
                auth_token.delete()
            return True
        return False
