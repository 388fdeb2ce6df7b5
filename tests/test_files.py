"""CONTRACT 5.1 and 5.2 through HTTP: the sample CSV a campaign accepts, a job's
rejected rows as CSV (columns, values, formula neutralising, reach), and a
100,000-row download streamed in bounded memory."""

import csv
import io
import time
import tracemalloc

import pytest
from django.contrib.auth import get_user_model
from django.http import StreamingHttpResponse
from rest_framework.test import APIClient

from contactload.ingest.campaign import STANDARD_HEADERS, load_rules
from contactload.models import Campaign, Contact, Role, RowResult, UploadJob
from contactload.spreadsheet import cell
from contactload.tokens import issue_token
from tests.conftest import make_user, run_worker

SAMPLE = "/api/campaigns/{}/sample.csv"
REJECTED = "/api/bulkphonebookupload/status/{}/improper_data.csv"
STATUS = "/api/bulkphonebookupload/status/{}/"
SALES_CRM = [
    "customer_info:customer_id",
    "customer_info:name",
    "customer_info:dob",
    "loan:amount",
    "loan:rate",
    "loan:product",
    "loan:due_at",
    "loan:slot",
    "loan:notes",
    "contact:office_email",
    "contact:office_phone",
]


def table(response) -> list[list[str]]:
    content = b"".join(response.streaming_content) if response.streaming else response.content
    return list(csv.reader(io.StringIO(content.decode("utf-8"), newline="")))


def client_for(user) -> APIClient:
    return APIClient(HTTP_AUTHORIZATION=f"Token {issue_token(user)}")


def queued_job(upload, rows) -> UploadJob:
    response = upload({"campaign": "Sales", "bulk_data": rows})
    assert response.status_code == 200, response.content
    return UploadJob.objects.get(pk=response.json()["job_id"])


# --- sample CSV (5.1) ---


def test_sample_csv_is_the_insert_header_line_as_an_attachment(api):
    response = api.get(SAMPLE.format("Sales"))
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="Sales-sample.csv"'
    assert table(response) == [[*STANDARD_HEADERS, *SALES_CRM]]
    assert response.content.decode().endswith("contact:office_phone\r\n")


def test_update_sample_csv_gives_the_update_headers(api, campaign):
    response = api.get(SAMPLE.format("Sales"), {"action_type": "update"})
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="Sales-update-sample.csv"'
    assert table(response) == [list(load_rules(campaign).accepted_headers("update"))]


def test_sample_csv_is_served_to_a_client_that_accepts_only_csv(api):
    response = api.get(SAMPLE.format("Sales"), HTTP_ACCEPT="text/csv")
    assert response.status_code == 200
    assert table(response)[0][0] == "numeric"


def test_a_row_with_every_sample_header_is_accepted_by_the_upload(api, upload):
    headers = table(api.get(SAMPLE.format("Sales")))[0]
    row = dict.fromkeys(headers, "") | {"numeric": "9876543210"}
    response = upload({"campaign": "Sales", "bulk_data": [row]})
    assert response.status_code == 200, response.content
    assert UploadJob.objects.get().headers == headers


def test_campaign_names_with_spaces_are_addressable(manager):
    east = Campaign.objects.create(name="Sales East")
    east.membership_set.create(user=manager)
    response = client_for(manager).get(SAMPLE.format("Sales%20East"))
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="Sales East-sample.csv"'


@pytest.mark.parametrize("who", ["unknown campaign", "outside manager", "agent"])
def test_sample_of_a_campaign_the_caller_cannot_reach_is_404(campaign, who):
    name = "Nope" if who == "unknown campaign" else "Sales"
    if who == "outside manager":
        user = make_user("outsider", Role.MANAGER, [Campaign.objects.create(name="Other")])
    else:
        user = make_user("someone", Role.AGENT, [campaign])
    response = client_for(user).get(SAMPLE.format(name), HTTP_ACCEPT="text/csv")
    assert response.status_code == 404
    assert response.json() == {"errors": "Campaign is not Present"}


def test_sample_with_a_bad_action_type_is_400(api):
    response = api.get(SAMPLE.format("Sales"), {"action_type": "upsert"})
    assert response.status_code == 400
    assert response.json() == {"errors": "Invalid action_type: upsert"}


def test_downloads_need_a_token(campaign):
    for url in (SAMPLE.format("Sales"), REJECTED.format("any")):
        response = APIClient().get(url)
        assert response.status_code == 401
        assert response.json() == {"detail": "Authentication credentials were not provided."}


# --- rejected rows (5.2) ---


def test_rejected_rows_csv_lists_each_rejected_row_with_its_messages(api, process):
    body = process(
        {
            "campaign": "Sales",
            "bulk_data": [
                {"numeric": "9876543210", "first_name": "Asha", "email": "asha@example.com"},
                {"numeric": "42", "first_name": '=HYPERLINK("http://x")', "email": "nope"},
                {"numeric": "9876543211", "first_name": "Ravi", "email": ""},
            ],
        }
    )
    response = api.get(REJECTED.format(body["job_id"]))
    assert response.status_code == 200
    assert isinstance(response, StreamingHttpResponse)
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    disposition = f'attachment; filename="{body["job_id"]}-improper_data.csv"'
    assert response["Content-Disposition"] == disposition
    assert table(response) == [
        ["row", "numeric", "first_name", "email", "description", "error_codes"],
        [
            "2",
            "42",
            '\'=HYPERLINK("http://x")',
            "nope",
            "Enter Valid Number, Enter Valid Email Address",
            "numeric:invalid_number; email:invalid_email",
        ],
    ]
    assert body["improper_data"][0]["description"] == (
        "Enter Valid Number, Enter Valid Email Address"
    )
    assert Contact.objects.count() == 2
    assert list(RowResult.objects.values_list("row", flat=True)) == [2]


def test_values_are_text_null_is_empty_and_others_are_json(api, upload):
    job = queued_job(
        upload, [{"numeric": "1", "first_name": "a", "priority": "1", "loan:notes": "b"}]
    )
    RowResult.objects.create(
        job=job,
        row=1,
        data={"numeric": 9876543210, "first_name": None, "priority": -5, "loan:notes": {"a": [1]}},
        errors=[
            ["priority", "invalid_priority", "Enter Valid priority"],
            ["loan:notes", "not_text", "Expected a text value"],
            ["loan:notes", "not_text", "Expected a text value"],
        ],
    )
    assert table(api.get(REJECTED.format(job.pk)))[1] == [
        "1",
        "9876543210",
        "",
        "'-5",
        '{"a":[1]}',
        "Enter Valid priority, Expected a text value",
        "priority:invalid_priority; loan:notes:not_text",
    ]


def test_columns_follow_the_upload_order_and_rows_their_position(api, upload):
    job = queued_job(upload, [{"last_name": "x", "numeric": "1", "first_name": "y"}] * 3)
    for row in (3, 1):
        RowResult.objects.create(
            job=job,
            row=row,
            data={"last_name": f"L{row}", "numeric": "1", "first_name": f"F{row}"},
            errors=[["numeric", "invalid_number", "Enter Valid Number"]],
        )
    rows = table(api.get(REJECTED.format(job.pk)))
    assert rows[0] == ["row", "last_name", "numeric", "first_name", "description", "error_codes"]
    assert [row[:2] for row in rows[1:]] == [["1", "L1"], ["3", "L3"]]


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("=1+2", "'=1+2"),
        ("+919876543210", "'+919876543210"),
        ("-5", "'-5"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tcmd", "'\tcmd"),
        ("\rcmd", "'\rcmd"),
        ("a=b", "a=b"),
        ("naïve 名前", "naïve 名前"),
        ("", ""),
        (None, ""),
        (42, "42"),
        (-5, "'-5"),
        (1.5, "1.5"),
        (True, "true"),
        ({"a": "é"}, '{"a":"é"}'),
        (["=x"], '["=x"]'),
    ],
)
def test_cells_are_text_and_never_start_a_formula(value, shown):
    assert cell(value) == shown


def test_a_job_without_rejected_rows_gives_the_header_line_only(api, process):
    body = process({"campaign": "Sales", "bulk_data": [{"numeric": "9876543210"}]})
    assert body["status"] == "Completed"
    rows = table(api.get(REJECTED.format(body["job_id"])))
    assert rows == [["row", "numeric", "description", "error_codes"]]


def test_rejected_rows_of_an_unknown_job_are_404(api):
    response = api.get(REJECTED.format("no-such-job"))
    assert response.status_code == 404
    assert response.json() == {"errors": "Job not found."}


@pytest.mark.parametrize("role", [Role.MANAGER, Role.AGENT])
def test_rejected_rows_of_a_campaign_the_caller_cannot_reach_are_404(upload, role):
    job = queued_job(upload, [{"numeric": "1"}])
    outsider = make_user("outsider", role, [Campaign.objects.create(name="Other")])
    response = client_for(outsider).get(REJECTED.format(job.pk), HTTP_ACCEPT="text/csv")
    assert response.status_code == 404
    assert response.json() == {"errors": "Job not found."}


def test_an_admin_logged_in_to_the_admin_site_can_download(upload):
    job = queued_job(upload, [{"numeric": "1"}])
    boss = get_user_model().objects.create_superuser("boss", password="pw")
    browser = APIClient()
    browser.force_login(boss)
    response = browser.get(REJECTED.format(job.pk))
    assert response.status_code == 200
    assert table(response) == [["row", "numeric", "description", "error_codes"]]


ROWS = 100_000


def test_a_100k_row_download_streams_in_bounded_memory(api, upload):
    job = queued_job(upload, [{"numeric": "1", "first_name": "x"}])
    errors = [["numeric", "invalid_number", "Enter Valid Number"]]
    RowResult.objects.bulk_create(
        (
            RowResult(
                job=job, row=row, data={"numeric": str(row), "first_name": "x"}, errors=errors
            )
            for row in range(1, ROWS + 1)
        ),
        batch_size=5000,
    )
    started = time.monotonic()
    response = api.get(REJECTED.format(job.pk))
    assert isinstance(response, StreamingHttpResponse)
    tracemalloc.start()
    try:
        chunks = lines = 0
        for chunk in response.streaming_content:
            chunks += 1
            lines += chunk.count(b"\r\n")
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert lines == ROWS + 1
    assert chunks > ROWS // 5000  # sent as it is read, not as one block
    assert peak < 20 * 1024 * 1024, f"peak {peak / 2**20:.1f} MiB"
    assert time.monotonic() - started < 30


def test_a_cut_improper_data_list_links_to_the_full_csv(api, upload, settings):
    settings.CONTACTLOAD_IMPROPER_DATA_LIMIT = 1
    job_id = upload({"campaign": "Sales", "bulk_data": [{"numeric": "4"}] * 3}).json()["job_id"]
    run_worker()
    body = api.get(STATUS.format(job_id)).json()
    assert body["improper_data_csv"] == "http://testserver" + REJECTED.format(job_id)
    assert len(table(api.get(body["improper_data_csv"]))) == 4
