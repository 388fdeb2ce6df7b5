"""Prometheus metrics: what happened (counters and histograms, shared between the
web and worker processes of one machine through prometheus_client's multiprocess
files) and what is waiting now (the queue, read from the database at scrape time).
Recording a metric never raises into the caller's work."""

import logging
import os
import time
from contextlib import contextmanager

from django.db.models import Min
from django.utils import timezone
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector

from contactload.models import UploadJob

logger = logging.getLogger("contactload.metrics")

UPLOADS = Counter(
    "contactload_uploads", "Upload requests by outcome and refusal reason", ["outcome", "reason"]
)
ROWS = Counter("contactload_rows", "Rows processed, by outcome", ["outcome"])
CHUNK_SECONDS = Histogram(
    "contactload_chunk_seconds",
    "Time to check and commit one chunk of rows",
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
JOB_SECONDS = Histogram(
    "contactload_job_seconds",
    "Time from a job's acceptance to its end",
    ["outcome"],
    buckets=(1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600),
)
CALLBACKS = Counter("contactload_callback_attempts", "Completion callback attempts", ["result"])


class QueueCollector:
    """Queue depth and the age of the oldest queued job, from the database."""

    def collect(self):
        depth = GaugeMetricFamily(
            "contactload_queue_depth", "Upload jobs waiting or running", labels=["state"]
        )
        for state in (UploadJob.State.QUEUED, UploadJob.State.RUNNING):
            depth.add_metric([state], UploadJob.objects.filter(state=state).count())
        yield depth
        oldest = UploadJob.objects.filter(state=UploadJob.State.QUEUED).aggregate(
            oldest=Min("created_at")
        )["oldest"]
        age = (timezone.now() - oldest).total_seconds() if oldest else 0.0
        yield GaugeMetricFamily(
            "contactload_queue_oldest_age_seconds", "Age of the oldest queued upload job", age
        )


def exposition() -> bytes:
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=os.environ["PROMETHEUS_MULTIPROC_DIR"])
    registry.register(QueueCollector())
    return generate_latest(registry)


def record(metric, *labels: str, amount: float = 1) -> None:
    try:
        (metric.labels(*labels) if labels else metric).inc(amount)
    except Exception:  # a metric must never break the work it describes
        logger.warning("could not record %s", metric, exc_info=True)


def observe(metric, seconds: float, *labels: str) -> None:
    try:
        (metric.labels(*labels) if labels else metric).observe(seconds)
    except Exception:
        logger.warning("could not record %s", metric, exc_info=True)


@contextmanager
def timed(metric, *labels: str):
    started = time.monotonic()
    yield
    observe(metric, time.monotonic() - started, *labels)
