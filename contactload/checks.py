"""System checks (``manage.py check``, and every command that runs them) for settings
whose values only make sense together."""

from django.conf import settings
from django.core import checks


@checks.register(checks.Tags.compatibility)
def recovery_intervals(app_configs, **kwargs) -> list[checks.CheckMessage]:
    """A worker beats every ``CONTACTLOAD_REAP_INTERVAL_S``; recovery takes a worker
    whose beat is older than ``CONTACTLOAD_STALE_AFTER_S`` for dead, and fails the task
    it was running. With less than two beats in that time, one late beat makes a live
    worker look dead."""
    stale, beat = settings.CONTACTLOAD_STALE_AFTER_S, settings.CONTACTLOAD_REAP_INTERVAL_S
    if stale > 2 * beat:
        return []
    return [
        checks.Warning(
            f"CONTACTLOAD_STALE_AFTER_S ({stale:g}) is not more than twice "
            f"CONTACTLOAD_REAP_INTERVAL_S ({beat:g}): a worker whose beat is late once "
            "would be taken for dead and its task failed.",
            hint="Set CONTACTLOAD_STALE_AFTER_S to at least three times the beat interval.",
            id="contactload.W001",
        )
    ]
