"""``GET``/``POST /api/bulkphonebookupload/status/<job_id>/`` (CONTRACT 4)."""

from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from contactload.api.examples import STATUS_EXAMPLES
from contactload.api.throttles import StatusRateThrottle
from contactload.ingest.status import status_body, visible_job

SCHEMA = extend_schema(
    responses={200: OpenApiTypes.OBJECT, 404: OpenApiTypes.OBJECT}, examples=STATUS_EXAMPLES
)


class JobStatusView(APIView):
    throttle_classes = [StatusRateThrottle]

    @SCHEMA
    def get(self, request, job_id: str):
        job = visible_job(request.user, job_id)
        csv_url = request.build_absolute_uri(reverse("job-improper-data-csv", args=[job.pk]))
        return Response(status_body(job, improper_data_csv=csv_url))

    @SCHEMA
    def post(self, request, job_id: str):
        return self.get(request, job_id)
