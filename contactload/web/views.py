"""Staff upload pages: ``/upload/`` sends a CSV through ``submit_csv_upload``, as the
API's multipart upload does, and shows a request error with the contract's message
and status; ``/upload/<job_id>/`` shows the job's live progress, read from
``/upload/<job_id>/status`` (``status_body`` as JSON). Admins and managers, by session."""

from functools import wraps

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import LoginView
from django.db.models import Prefetch
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_GET, require_http_methods

from contactload import errors
from contactload.access import may_use_upload_api, reachable_campaigns
from contactload.api.upload import refuse_announced
from contactload.ingest.campaign import rules_from
from contactload.ingest.status import status_body, visible_job
from contactload.ingest.submit import submit_csv_upload
from contactload.models import CrmField, UploadJob

FORM_FIELDS = ("campaign", "action_type", "reference_field")


class UploadLoginView(LoginView):
    template_name = "contactload/login.html"
    redirect_authenticated_user = True
    next_page = "upload"


def problem(request, exc: errors.UploadError):
    return render(request, "contactload/error.html", {"error": exc}, status=exc.status)


def staff_only(view):
    """Logged in (else the login form), and allowed to upload (else 403)."""

    @login_required
    @wraps(view)
    def door(request, *args, **kwargs):
        if not may_use_upload_api(request.user):
            return problem(request, errors.Forbidden())
        return view(request, *args, **kwargs)

    return door


def campaign_choices(user) -> list[dict]:
    """The campaigns ``user`` may upload to: name, reference fields, accepted headers."""
    ordered = CrmField.objects.order_by("position", "id")
    campaigns = (
        reachable_campaigns(user).order_by("name").prefetch_related(Prefetch("crm_fields", ordered))
    )
    choices = []
    for campaign in campaigns:
        rules = rules_from(campaign, campaign.crm_fields.all())
        headers = {
            action: list(rules.accepted_headers(action)) for action in UploadJob.Action.values
        }
        references = [header for header in headers["update"] if rules.is_reference(header)]
        choices.append({"name": rules.name, "references": references, "headers": headers})
    return choices


def form_page(request, error: errors.UploadError | None = None, *, read_form: bool = True):
    """The form, keeping the choices of a refused post (unless its body must stay unread)."""
    campaigns = campaign_choices(request.user)
    form = request.POST if read_form else {}
    chosen = {field: form.get(field, "") for field in FORM_FIELDS}
    current = next((c for c in campaigns if c["name"] == chosen["campaign"]), None)
    context = {
        "campaigns": campaigns,
        "current": current or (campaigns[0] if campaigns else None),
        "chosen": chosen,
        "error": error,
    }
    status = error.status if error else 200
    return render(request, "contactload/upload.html", context, status=status)


@csrf_exempt  # checked by `upload_form`, after the size limit: a body over it is refused unread
@require_http_methods(["GET", "POST"])
@staff_only
def upload(request):
    if request.method == "POST":
        try:
            refuse_announced(request, settings.CONTACTLOAD_MAX_CSV_BYTES)
        except errors.BodyTooLarge as exc:
            return form_page(request, exc, read_form=False)
    return upload_form(request)


@csrf_protect
def upload_form(request):
    if request.method != "POST":
        return form_page(request)
    try:
        job_id = submit(request)
    except errors.UploadError as exc:
        return form_page(request, exc)
    return redirect("upload-job", job_id=job_id)


def submit(request) -> str:
    """The API's multipart upload, without an Idempotency-Key (a form posts once)."""
    file = request.FILES.get("file")
    if file is None:
        raise errors.InvalidStructure()
    fields = {field: request.POST.get(field, "") for field in FORM_FIELDS}
    with file.open("rb") as lines:
        _status, body = submit_csv_upload(user=request.user, fields=fields, lines=lines)
    return body["job_id"]


@require_GET
@staff_only
def job_page(request, job_id: str):
    try:
        job = visible_job(request.user, job_id)
    except errors.JobNotFound as exc:
        return problem(request, exc)
    return render(request, "contactload/job.html", {"job": job, "status": status_body(job)})


@require_GET
def job_status(request, job_id: str):
    """The status body of CONTRACT 4 for the session's user, as the job page polls it."""
    try:
        if not may_use_upload_api(request.user):
            raise errors.Forbidden()
        job = visible_job(request.user, job_id)
    except errors.UploadError as exc:
        return JsonResponse({"errors": exc.message}, status=exc.status)
    csv_url = request.build_absolute_uri(reverse("job-improper-data-csv", args=[job.pk]))
    return JsonResponse(status_body(job, improper_data_csv=csv_url))
