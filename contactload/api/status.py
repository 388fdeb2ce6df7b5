"""``GET``/``POST /api/bulkphonebookupload/status/<job_id>/`` (CONTRACT 4)."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from contactload.ingest.status import status_body, visible_job


class JobStatusView(APIView):
    @extend_schema(responses={200: OpenApiTypes.OBJECT, 404: OpenApiTypes.OBJECT})
    def get(self, request, job_id: str):
        return Response(status_body(visible_job(request.user, job_id)))

    @extend_schema(responses={200: OpenApiTypes.OBJECT, 404: OpenApiTypes.OBJECT})
    def post(self, request, job_id: str):
        return self.get(request, job_id)
