"""CONTRACT 4 through HTTP: status strings and bodies for each state, reach, and
the cut of long improper_data lists."""

import pytest
from rest_framework.test import APIClient

from contactload.models import Campaign, Role, UploadChunk, UploadJob
from contactload.tokens import issue_token
from tests.conftest import make_user, run_worker

STATUS = "/api/bulkphonebookupload/status/{}/"
FACTS = {
    "job_id",
    "campaign",
    "phonebook",
    "action_type",
    "state",
    "progress",
    "total",
    "inserted",
    "updated",
    "rejected",
    "created_at",
    "started_at",
    "finished_at",
}


def submit(upload, rows) -> str:
    response = upload({"campaign": "Sales", "bulk_data": rows})
    assert response.status_code == 200
    return response.json()["job_id"]


def test_queued_job_is_pending(api, upload):
    job_id = submit(upload, [{"numeric": "9876543210"}])
    body = api.get(STATUS.format(job_id)).json()
    assert body["status"] == "Pending state. Please check with Administrator!"
    assert set(body) == {"status"} | FACTS
    assert (body["state"], body["progress"], body["total"]) == ("queued", 0, 1)
    assert body["campaign"] == "Sales"
    assert body["job_id"] == job_id
    assert body["phonebook"] == UploadJob.objects.get().phonebook.name


def test_completed_job_and_post_gives_the_same_body(api, upload):
    job_id = submit(upload, [{"numeric": "9876543210"}, {"numeric": "9876543211"}])
    run_worker()
    body = api.get(STATUS.format(job_id)).json()
    assert body["status"] == "Completed"
    assert set(body) == {"status"} | FACTS
    assert body["state"] == "completed"
    assert (body["progress"], body["total"], body["inserted"], body["rejected"]) == (100, 2, 2, 0)
    assert body["finished_at"] is not None
    assert api.post(STATUS.format(job_id)).json() == body


def test_invalid_data_lists_rejected_rows_with_positions(api, upload):
    job_id = submit(upload, [{"numeric": "9876543210"}, {"numeric": "42"}])
    run_worker()
    body = api.get(STATUS.format(job_id)).json()
    assert body["status"] == "Invalid Data"
    assert body["improper_data"] == [
        {
            "numeric": "42",
            "description": "Enter Valid Number",
            "row": 2,
            "error_codes": {"numeric": ["invalid_number"]},
        }
    ]
    assert body["improper_data_truncated"] is False
    assert (body["inserted"], body["rejected"]) == (1, 1)


def test_long_improper_data_is_cut_with_a_marker(api, upload, settings):
    settings.CONTACTLOAD_IMPROPER_DATA_LIMIT = 3
    job_id = submit(upload, [{"numeric": str(i)} for i in range(5)])
    run_worker()
    body = api.get(STATUS.format(job_id)).json()
    assert [item["row"] for item in body["improper_data"]] == [1, 2, 3]
    assert body["improper_data_truncated"] is True
    assert body["rejected"] == 5


def test_a_job_that_fails_for_good_reports_failed(api, upload, settings):
    settings.CONTACTLOAD_MAX_ATTEMPTS = 3
    settings.CONTACTLOAD_RETRY_BACKOFF_S = 0
    job_id = submit(upload, [{"numeric": "9876543210"}])
    UploadChunk.objects.filter(job_id=job_id).update(data=b"not a payload")
    run_worker()
    body = api.get(STATUS.format(job_id)).json()
    assert body["status"] == "Failed"
    assert body["errors"] == "Oops Something went wrong, Please contact Administrator"
    assert body["state"] == "failed"
    job = UploadJob.objects.get()
    assert job.attempts == 3  # retried, then failed for good
    assert "zlib.error" in job.error  # the traceback is kept for admins


def test_unknown_job_is_404(api, campaign):
    response = api.get(STATUS.format("no-such-job"))
    assert response.status_code == 404
    assert response.json() == {"errors": "Job not found."}


@pytest.mark.parametrize("role", [Role.MANAGER, Role.AGENT])
def test_job_of_a_campaign_the_caller_cannot_reach_is_404(upload, campaign, role):
    job_id = submit(upload, [{"numeric": "9876543210"}])
    outsider = make_user("outsider", role, [Campaign.objects.create(name="Other")])
    client = APIClient(HTTP_AUTHORIZATION=f"Token {issue_token(outsider)}")
    response = client.get(STATUS.format(job_id))
    assert response.status_code == 404
    assert response.json() == {"errors": "Job not found."}
