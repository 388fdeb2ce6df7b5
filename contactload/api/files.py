"""CSV downloads: ``GET /api/campaigns/<name>/sample.csv`` (CONTRACT 5.1) and
``GET /api/bulkphonebookupload/status/<job_id>/improper_data.csv`` (CONTRACT 5.2).
Success is a CSV attachment; errors are the usual JSON ``{"errors": ...}``."""

from django.http import HttpResponse, StreamingHttpResponse
from django.utils.http import content_disposition_header
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.authentication import SessionAuthentication
from rest_framework.views import APIView

from contactload.api.authentication import TokenAuthentication
from contactload.api.throttles import StatusRateThrottle
from contactload.ingest.exports import rejected_rows_csv, sample_csv
from contactload.ingest.status import visible_job

CSV = "text/csv; charset=utf-8"
ERROR = OpenApiResponse(OpenApiTypes.OBJECT, description='{"errors": "<message>"}')


def attachment(response, filename: str):
    response["Content-Disposition"] = content_disposition_header(True, filename)
    return response


class CsvDownloadView(APIView):
    def perform_content_negotiation(self, request, force=False):
        # Any Accept (text/csv, */*) gets the file; an error is always rendered as JSON.
        return super().perform_content_negotiation(request, force=True)


class SampleCsvView(CsvDownloadView):
    """The header line a campaign accepts: the "sample CSV" of the headers-mismatch error."""

    @extend_schema(
        operation_id="campaign_sample_csv",
        parameters=[
            OpenApiParameter(
                "action_type", str, enum=["insert", "update"], default="insert", required=False
            )
        ],
        responses={
            (200, "text/csv"): OpenApiResponse(OpenApiTypes.STR, description="one header line"),
            400: ERROR,
            404: ERROR,
        },
        examples=[
            OpenApiExample(
                "Sample CSV",
                value="numeric,user,alt_numeric,first_name,last_name,email,priority,"
                "customer_info:customer_id\r\n",
                response_only=True,
                media_type="text/csv",
            )
        ],
    )
    def get(self, request, name: str):
        action = request.query_params.get("action_type", "insert")
        text = sample_csv(request.user, name, action)
        suffix = "sample.csv" if action == "insert" else f"{action}-sample.csv"
        return attachment(HttpResponse(text, content_type=CSV), f"{name}-{suffix}")


class ImproperDataCsvView(CsvDownloadView):
    """Every rejected row of a job, streamed. Session login is accepted too, so that the
    admin can link here."""

    authentication_classes = [TokenAuthentication, SessionAuthentication]
    throttle_classes = [StatusRateThrottle]

    @extend_schema(
        operation_id="job_improper_data_csv",
        responses={
            (200, "text/csv"): OpenApiResponse(
                OpenApiTypes.STR,
                description="columns: row, the upload's headers, description, error_codes",
            ),
            404: ERROR,
        },
        examples=[
            OpenApiExample(
                "Rejected rows",
                value="row,numeric,first_name,description,error_codes\r\n"
                '2,42,\'=HYPERLINK("x"),Enter Valid Number,numeric:invalid_number\r\n',
                response_only=True,
                media_type="text/csv",
            )
        ],
    )
    def get(self, request, job_id: str):
        job = visible_job(request.user, job_id)
        response = StreamingHttpResponse(rejected_rows_csv(job), content_type=CSV)
        return attachment(response, f"{job.pk}-improper_data.csv")
