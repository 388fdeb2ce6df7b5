"""Worker liveness: each worker process keeps a row fresh while it lives (and removes
it when it stops), so that health checks can count live workers from the database."""

import os
import socket
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from contactload.models import WorkerBeat


def beat(worker_id: str) -> None:
    WorkerBeat.objects.update_or_create(
        worker_id=worker_id,
        defaults={
            "hostname": socket.gethostname(),
            "pid": os.getpid(),
            "last_seen": timezone.now(),
        },
    )


def gone(worker_id: str) -> None:
    WorkerBeat.objects.filter(worker_id=worker_id).delete()


def beating_since(moment):
    """The beats of the workers seen since ``moment``."""
    return WorkerBeat.objects.filter(last_seen__gte=moment)


def alive() -> int:
    """Workers seen within three of their beat intervals (a missed beat is not death)."""
    window = timedelta(seconds=3 * settings.CONTACTLOAD_REAP_INTERVAL_S)
    return beating_since(timezone.now() - window).count()
