"""Issuing API tokens: knox stores only a hash of each one."""

from knox.models import AuthToken


def issue_token(user) -> str:
    """A new token for ``user``; the database keeps only its digest."""
    _instance, token = AuthToken.objects.create(user=user)
    return token
