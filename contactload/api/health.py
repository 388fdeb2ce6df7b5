"""Health for load balancers and monitors (CONTRACT 5.6), no token. ``GET /health``:
the database, the live workers and the queue; 200 while the database answers
(``status`` turns ``degraded`` when work waits with no live worker, or waits too
long), 503 when it does not. ``GET /api/health/``: the older liveness probe."""

from django.conf import settings
from django.db import DatabaseError, connection
from django.db.models import Count, Min, Q
from django.utils import timezone
from django_tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult, get_date_max
from drf_spectacular.utils import OpenApiExample, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from contactload.ingest import liveness

READY, RUNNING = TaskResultStatus.READY, TaskResultStatus.RUNNING


def queue_facts() -> dict:
    """The background queue as the database holds it, in one query.

    A ready task that keeps ageing is what too few live workers look like (the count of
    live workers comes from their own beats, ``ingest.liveness``). A delayed task is
    ready from its ``run_after``, any other from its enqueueing."""
    now, never = timezone.now(), get_date_max()
    ready = Q(status=READY) & (Q(run_after=never) | Q(run_after__lte=now))
    facts = DBTaskResult.objects.filter(status__in=[READY, RUNNING]).aggregate(
        ready=Count("pk", filter=ready),
        running=Count("pk", filter=Q(status=RUNNING)),
        enqueued=Min("enqueued_at", filter=ready & Q(run_after=never)),
        delayed=Min("run_after", filter=ready & ~Q(run_after=never)),
    )
    since = min(
        (moment for moment in (facts["enqueued"], facts["delayed"]) if moment), default=None
    )
    return {
        "ready": facts["ready"],
        "running": facts["running"],
        "oldest_ready_age_s": round((now - since).total_seconds(), 1) if since else None,
    }


def health_report() -> tuple[dict, int]:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        queue = queue_facts()
        workers = {"alive": liveness.alive()}
    except DatabaseError:
        return {"status": "degraded", "database": "error", "workers": None, "queue": None}, 503
    age = queue["oldest_ready_age_s"]
    stuck = age is not None and age > settings.CONTACTLOAD_HEALTH_MAX_QUEUE_AGE_S
    unserved = queue["ready"] > 0 and not workers["alive"]
    status = "degraded" if stuck or unserved else "ok"
    return {"status": status, "database": "ok", "workers": workers, "queue": queue}, 200


HEALTH = inline_serializer(
    "Health",
    fields={
        "status": serializers.ChoiceField(choices=["ok", "degraded"]),
        "database": serializers.ChoiceField(choices=["ok", "error"]),
        "workers": inline_serializer(
            "HealthWorkers",
            fields={"alive": serializers.IntegerField(help_text="workers seen recently")},
            allow_null=True,
        ),
        "queue": inline_serializer(
            "HealthQueue",
            fields={
                "ready": serializers.IntegerField(help_text="tasks waiting for a worker"),
                "running": serializers.IntegerField(help_text="tasks a worker has claimed"),
                "oldest_ready_age_s": serializers.FloatField(allow_null=True),
            },
            allow_null=True,
        ),
    },
)
OK = {
    "status": "ok",
    "database": "ok",
    "workers": {"alive": 1},
    "queue": {"ready": 0, "running": 1, "oldest_ready_age_s": None},
}


class HealthView(APIView):
    """``/api/health/``: liveness only, as it always answered: 200 ``{"status": "ok"}``."""

    authentication_classes = []
    permission_classes = [AllowAny]

    @extend_schema(
        operation_id="health_retrieve",
        responses={200: inline_serializer("Alive", fields={"status": serializers.CharField()})},
        examples=[OpenApiExample("Alive", value={"status": "ok"}, response_only=True)],
    )
    def get(self, request):
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return Response({"status": "ok"})


class HealthReportView(APIView):
    """``/health``: the database and the task queue, for load balancers and monitors."""

    authentication_classes = []
    permission_classes = [AllowAny]

    @extend_schema(
        operation_id="health_report",
        responses={200: HEALTH, 503: HEALTH},
        examples=[
            OpenApiExample("Healthy", value=OK, response_only=True),
            OpenApiExample(
                "Database down",
                value={"status": "degraded", "database": "error", "workers": None, "queue": None},
                response_only=True,
                status_codes=["503"],
            ),
        ],
    )
    def get(self, request):
        body, status = health_report()
        return Response(body, status=status)
