from django.contrib import admin
from django.contrib.auth.views import LogoutView
from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from contactload.api.auth import GenerateTokenView
from contactload.api.campaigns import CampaignListView
from contactload.api.dnc import RemoveDncView, UploadDncView
from contactload.api.files import ImproperDataCsvView, SampleCsvView
from contactload.api.health import HealthReportView, HealthView
from contactload.api.metrics import metrics_view
from contactload.api.status import JobStatusView
from contactload.api.upload import BulkUploadView
from contactload.web import views as web

urlpatterns = [
    path("api/generate-token/", GenerateTokenView.as_view(), name="generate-token"),
    path("api/bulkphonebookupload/v1/", BulkUploadView.as_view(), name="bulk-upload"),
    path(
        "api/bulkphonebookupload/status/<str:job_id>/",
        JobStatusView.as_view(),
        name="job-status",
    ),
    path(
        "api/bulkphonebookupload/status/<str:job_id>/improper_data.csv",
        ImproperDataCsvView.as_view(),
        name="job-improper-data-csv",
    ),
    path("api/campaigns/", CampaignListView.as_view(), name="campaigns"),
    # Do-Not-Call lists (CONTRACT 5.4): contactload.api.dnc.
    path("api/upload-dnc/", UploadDncView.as_view(), name="upload-dnc"),
    path("api/remove-dnc/", RemoveDncView.as_view(), name="remove-dnc"),
    path(
        "api/campaigns/<path:name>/sample.csv", SampleCsvView.as_view(), name="campaign-sample-csv"
    ),
    path("api/health/", HealthView.as_view(), name="health"),
    path("health", HealthReportView.as_view(), name="health-report"),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
    path("metrics", metrics_view, name="metrics"),
    path("admin/", admin.site.urls),
    # The staff upload page (session login): contactload.web.
    path("accounts/login/", web.UploadLoginView.as_view(), name="login"),
    path("accounts/logout/", LogoutView.as_view(next_page="login"), name="logout"),
    path("upload/", web.upload, name="upload"),
    path("upload/<str:job_id>/", web.job_page, name="upload-job"),
    path("upload/<str:job_id>/status", web.job_status, name="upload-job-status"),
]
