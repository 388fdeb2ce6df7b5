"""Completion callbacks (CONTRACT 5.5) against real HTTP receivers on 127.0.0.1: the
signed status body arrives (and verifies with docs/webhook_receiver.py's code), failures
are retried with back-off and recorded, nothing about a callback changes the job, and
URLs that point at internal addresses are refused on submit and again on delivery."""

import importlib.util
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace

import orjson
import pytest
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django_tasks.base import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from contactload import errors
from contactload.ingest.callbacks import check_callback_url, deliver, next_delay
from contactload.ingest.recovery import recover
from contactload.models import CallbackAttempt, UploadChunk, UploadJob
from contactload.tasks import deliver_callback
from contactload.tokens import issue_token
from tests.conftest import run_worker
from tests.test_cli import free_port
from tests.test_push import client_env
from tests.test_recovery import stale

SECRET = "test-webhook-secret"
URL = "/api/bulkphonebookupload/v1/"
BODY = {"campaign": "Sales", "bulk_data": [{"numeric": "9876543210"}, {"numeric": "4"}]}
RECEIVER_PY = Path(__file__).resolve().parent.parent / "docs" / "webhook_receiver.py"


def load_receiver_example():
    spec = importlib.util.spec_from_file_location("webhook_receiver", RECEIVER_PY)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


verify = load_receiver_example().verify


def signed(request) -> bool:
    """Checked with the example receiver's own code."""
    headers = request.headers
    timestamp, signature = headers["X-Contactload-Timestamp"], headers["X-Contactload-Signature"]
    return verify(SECRET, timestamp, signature, request.body)


@pytest.fixture
def webhooks(settings):
    settings.CONTACTLOAD_WEBHOOK_SECRET = SECRET
    settings.CONTACTLOAD_WEBHOOK_ALLOW_PRIVATE = True  # the receivers are on 127.0.0.1
    settings.CONTACTLOAD_WEBHOOK_BACKOFF_S = 0  # retries run at once under run_worker()
    settings.CONTACTLOAD_WEBHOOK_TIMEOUT_S = 5
    settings.CONTACTLOAD_WEBHOOK_MAX_ATTEMPTS = 3
    return settings


@pytest.fixture
def receiver():
    """An HTTP server on 127.0.0.1 recording each POST; it answers with the statuses in
    ``answers`` in turn, then 200, after ``pause`` seconds."""
    state = SimpleNamespace(requests=[], answers=[], pause=0.0)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            state.requests.append(SimpleNamespace(path=self.path, headers=self.headers, body=body))
            time.sleep(state.pause)
            self.send_response(state.answers.pop(0) if state.answers else 200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_port}/hooks/done?source=contactload"
    yield state
    server.shutdown()
    server.server_close()


def attempts_of(job_id: str) -> list[tuple]:
    return list(
        CallbackAttempt.objects.filter(job_id=job_id)
        .order_by("attempt")
        .values_list("attempt", "status_code", "error")
    )


def test_a_finished_job_posts_its_signed_status_body_to_the_callback_url(
    process, receiver, webhooks
):
    status = process({**BODY, "callback_url": receiver.url})

    (request,) = receiver.requests
    assert request.path == "/hooks/done?source=contactload"
    assert request.headers["Content-Type"] == "application/json"
    assert signed(request)
    assert orjson.loads(request.body) == status  # what the status endpoint answers
    assert (status["status"], status["rejected"]) == ("Invalid Data", 1)
    assert attempts_of(status["job_id"]) == [(1, 200, "")]
    attempt = CallbackAttempt.objects.get()
    assert attempt.duration_ms is not None
    assert attempt.next_attempt_at is None


def test_a_signature_does_not_verify_for_another_body_secret_or_an_old_timestamp(
    process, receiver, webhooks
):
    process({**BODY, "callback_url": receiver.url})
    (request,) = receiver.requests
    timestamp, signature = (
        request.headers["X-Contactload-Timestamp"],
        request.headers["X-Contactload-Signature"],
    )
    assert verify(SECRET, timestamp, signature, request.body)
    assert not verify(SECRET, timestamp, signature, request.body.replace(b"Invalid", b"Valid"))
    assert not verify("another-secret", timestamp, signature, request.body)
    assert not verify(SECRET, timestamp, signature, request.body, now=int(timestamp) + 301)
    assert not verify(SECRET, str(int(timestamp) + 1), signature, request.body)


def test_a_local_receiver_is_refused_on_submit_unless_private_addresses_are_allowed(
    upload, api, receiver, webhooks
):
    webhooks.CONTACTLOAD_WEBHOOK_ALLOW_PRIVATE = False
    refused = upload({**BODY, "callback_url": receiver.url})
    assert refused.status_code == 400
    assert refused.json() == {
        "errors": "Invalid callback_url: host 127.0.0.1 resolves to 127.0.0.1, a loopback address"
    }
    form = api.post(
        URL,
        {
            "campaign": "Sales",
            "callback_url": receiver.url,
            "file": SimpleUploadedFile("leads.csv", b"numeric\n9876543210\n"),
        },
        format="multipart",
    )
    assert form.status_code == 400
    assert form.json() == refused.json()
    assert not UploadJob.objects.exists()
    run_worker()
    assert receiver.requests == []


def test_a_csv_form_field_names_the_callback_too(
    api, receiver, webhooks, django_capture_on_commit_callbacks
):
    file = SimpleUploadedFile("leads.csv", b"numeric\n9876543210\n")
    data = {"campaign": "Sales", "callback_url": receiver.url, "file": file}
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(URL, data, format="multipart")
    assert response.status_code == 200, response.content
    assert UploadJob.objects.get().callback_url == receiver.url
    run_worker()
    (request,) = receiver.requests
    assert orjson.loads(request.body)["status"] == "Completed"


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("ftp://93.184.215.14/hook", "only http and https URLs are accepted"),
        ("93.184.215.14/hook", "only http and https URLs are accepted"),
        ("http:///hook", "no host"),
        ("http://user:pw@93.184.215.14/", "user names and passwords in the URL are not accepted"),
        ("http://93.184.215.14:99999/", "not a valid URL"),
        ("http://[::1/", "not a valid URL"),
        ("http://93.184.215.14/a b", "spaces, control or non-ASCII characters"),
        ("http://93.184.215.14/é", "spaces, control or non-ASCII characters"),
        ("http://93.184.215.14/" + "a" * 2000, "longer than 2000 characters"),
        ("http://10.1.2.3/", "host 10.1.2.3 resolves to 10.1.2.3, a private address"),
        (
            "http://192.168.0.10:8080/",
            "host 192.168.0.10 resolves to 192.168.0.10, a private address",
        ),
        (
            "http://169.254.169.254/latest/meta-data/",
            "host 169.254.169.254 resolves to 169.254.169.254, a link-local address",
        ),
        ("http://[::1]:8000/", "host ::1 resolves to ::1, a loopback address"),
        (
            "http://[::ffff:127.0.0.1]/",
            "host ::ffff:127.0.0.1 resolves to ::ffff:127.0.0.1, a loopback address",
        ),
        ("http://0.0.0.0/", "host 0.0.0.0 resolves to 0.0.0.0, an unspecified address"),
        ("http://2130706433/", "host 2130706433 resolves to 127.0.0.1, a loopback address"),
        ("http://100.64.0.1/", "host 100.64.0.1 resolves to 100.64.0.1, a non-public address"),
        ("http://240.0.0.1/", "host 240.0.0.1 resolves to 240.0.0.1, a reserved address"),
        ("http://nowhere.invalid/", "host nowhere.invalid does not resolve"),
    ],
)
def test_callback_urls_contactload_will_not_call_are_refused(webhooks, url, reason):
    webhooks.CONTACTLOAD_WEBHOOK_ALLOW_PRIVATE = False
    with pytest.raises(errors.InvalidCallbackUrl) as refused:
        check_callback_url(url)
    assert (refused.value.status, refused.value.message) == (400, f"Invalid callback_url: {reason}")


def test_a_public_address_is_accepted_and_no_secret_means_no_callbacks(webhooks):
    webhooks.CONTACTLOAD_WEBHOOK_ALLOW_PRIVATE = False
    check_callback_url("https://93.184.215.14/hooks?x=1")
    webhooks.CONTACTLOAD_WEBHOOK_SECRET = ""
    with pytest.raises(errors.InvalidCallbackUrl) as refused:
        check_callback_url("https://93.184.215.14/hooks?x=1")
    assert refused.value.message == (
        "Invalid callback_url: callbacks are off on this server (no webhook secret)"
    )


def test_a_receiver_answering_500_twice_gets_a_third_attempt_that_succeeds(
    process, receiver, webhooks
):
    receiver.answers.extend([500, 500])
    status = process({**BODY, "callback_url": receiver.url})

    assert len(receiver.requests) == 3
    assert all(signed(request) for request in receiver.requests)
    assert {orjson.loads(request.body)["job_id"] for request in receiver.requests} == {
        status["job_id"]
    }
    assert attempts_of(status["job_id"]) == [
        (1, 500, "HTTP 500"),
        (2, 500, "HTTP 500"),
        (3, 200, ""),
    ]
    due = CallbackAttempt.objects.order_by("attempt").values_list("next_attempt_at", flat=True)
    assert [moment is not None for moment in due] == [True, True, False]


def test_the_back_off_doubles_up_to_its_cap_for_a_bounded_number_of_attempts(settings):
    settings.CONTACTLOAD_WEBHOOK_BACKOFF_S = 5
    settings.CONTACTLOAD_WEBHOOK_BACKOFF_MAX_S = 600
    settings.CONTACTLOAD_WEBHOOK_MAX_ATTEMPTS = 10
    delays = [next_delay(attempt) for attempt in range(1, 11)]
    assert delays == [5, 10, 20, 40, 80, 160, 320, 600, 600, None]


def test_a_receiver_that_is_down_gets_its_attempts_recorded_and_the_job_stays_completed(
    process, api, webhooks
):
    status = process({**BODY, "callback_url": f"http://127.0.0.1:{free_port()}/hook"})

    job = UploadJob.objects.get()
    assert (job.state, job.error) == ("completed", "")
    assert status["status"] == "Invalid Data"
    attempts = attempts_of(job.pk)
    assert [attempt for attempt, _status, _error in attempts] == [1, 2, 3]
    assert all(code is None and "refused" in error.lower() for _n, code, error in attempts)
    assert CallbackAttempt.objects.get(attempt=3).next_attempt_at is None  # gave up
    assert not DBTaskResult.objects.filter(status=TaskResultStatus.READY).exists()
    assert api.get(f"/api/bulkphonebookupload/status/{job.pk}/").json() == status


def test_a_receiver_slower_than_the_timeout_is_a_failed_attempt(process, receiver, webhooks):
    webhooks.CONTACTLOAD_WEBHOOK_TIMEOUT_S = 0.2
    webhooks.CONTACTLOAD_WEBHOOK_MAX_ATTEMPTS = 1
    receiver.pause = 1.0
    status = process({**BODY, "callback_url": receiver.url})
    assert attempts_of(status["job_id"]) == [(1, None, "no answer within 0.2 s")]
    assert UploadJob.objects.get().state == "completed"


def test_a_job_that_fails_for_good_posts_failed(upload, receiver, webhooks):
    webhooks.CONTACTLOAD_MAX_ATTEMPTS = 1
    job_id = upload({**BODY, "callback_url": receiver.url}).json()["job_id"]
    UploadChunk.objects.update(data=b"not a compressed chunk")  # the run will raise

    run_worker()

    assert UploadJob.objects.get().state == "failed"
    (request,) = receiver.requests
    assert signed(request)
    body = orjson.loads(request.body)
    assert (body["status"], body["state"], body["job_id"]) == ("Failed", "failed", job_id)
    assert body["errors"] == "Oops Something went wrong, Please contact Administrator"


def test_a_job_failed_by_recovery_posts_failed(
    upload, receiver, webhooks, django_capture_on_commit_callbacks
):
    webhooks.CONTACTLOAD_MAX_ATTEMPTS = 1
    job_id = upload({**BODY, "callback_url": receiver.url}).json()["job_id"]
    DBTaskResult.objects.all().delete()  # its task was taken by a worker that died
    stale(job_id)
    UploadJob.objects.filter(pk=job_id).update(attempts=1)
    with django_capture_on_commit_callbacks(execute=True):
        assert recover() == [job_id]
    run_worker()

    (request,) = receiver.requests
    assert orjson.loads(request.body)["status"] == "Failed"


def test_the_address_is_checked_again_on_delivery(upload, receiver, webhooks):
    upload({**BODY, "callback_url": receiver.url})  # accepted: private addresses allowed
    webhooks.CONTACTLOAD_WEBHOOK_ALLOW_PRIVATE = False  # as if the host now resolved inside

    run_worker()

    job = UploadJob.objects.get()
    assert job.state == "completed"
    refusal = "not sent: host 127.0.0.1 resolves to 127.0.0.1, a loopback address"
    assert attempts_of(job.pk) == [(1, None, refusal)]  # and not retried
    assert receiver.requests == []


def test_a_job_without_a_callback_url_queues_no_delivery(process, receiver, webhooks):
    process(BODY)
    deliveries = DBTaskResult.objects.filter(task_path=deliver_callback.module_path)
    assert not deliveries.exists()
    assert not CallbackAttempt.objects.exists()


def test_a_second_run_of_an_attempt_sends_nothing(process, receiver, webhooks):
    status = process({**BODY, "callback_url": receiver.url})
    deliver(status["job_id"], 1)
    assert len(receiver.requests) == 1
    assert attempts_of(status["job_id"]) == [(1, 200, "")]


def test_the_admin_job_page_lists_the_callback_attempts(process, receiver, webhooks):
    receiver.answers.append(503)
    status = process({**BODY, "callback_url": receiver.url})
    browser = Client()
    browser.force_login(get_user_model().objects.create_superuser("boss", "b@example.com", "pw"))
    page = browser.get(reverse("admin:contactload_uploadjob_change", args=[status["job_id"]]))
    assert page.status_code == 200
    _rows, attempts = page.context["inline_admin_formsets"]
    assert [form.instance.status_code for form in attempts.formset.forms] == [503, 200]
    assert "HTTP 503" in page.content.decode()


def test_the_example_receiver_accepts_a_real_callback_and_refuses_a_forged_one(process, webhooks):
    example = subprocess.Popen(
        [sys.executable, str(RECEIVER_PY), "--port", "0"],
        env={**client_env(), "CONTACTLOAD_WEBHOOK_SECRET": SECRET},
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        listening = example.stdout.readline()  # "listening on http://127.0.0.1:<port>/"
        assert listening.startswith("listening on "), listening
        url = listening.split()[-1] + "contactload"
        status = process({**BODY, "callback_url": url})
        assert attempts_of(status["job_id"]) == [(1, 204, "")]
        forged = urllib.request.Request(
            url,
            data=orjson.dumps({**status, "inserted": 2}),
            headers={
                "X-Contactload-Timestamp": str(int(time.time())),
                "X-Contactload-Signature": "sha256=" + "0" * 64,
            },
        )
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(forged, timeout=5)
        assert refused.value.code == 401
    finally:
        example.terminate()
        printed = example.communicate(timeout=10)[0]
    assert printed.splitlines() == [
        f"job {status['job_id']}: Invalid Data (inserted 1, updated 0, rejected 1 of 2)"
    ]


@pytest.mark.django_db(transaction=True)
def test_push_callback_url_names_the_callback_of_each_chunk(
    tmp_path, live_server, manager, receiver, webhooks
):
    source = tmp_path / "leads.csv"
    source.write_text("numeric\n9876543210\n9876543211\n9876543212\n")
    args = [str(source), "--campaign", "Sales", "--url", live_server.url]
    args += ["--token", issue_token(manager), "--chunk-rows", "2", "--no-wait"]

    done = subprocess.run(
        [sys.executable, "-m", "contactload.cli", "push", *args, "--callback-url", receiver.url],
        env=client_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert done.returncode == 0, done.stderr
    jobs = set(UploadJob.objects.values_list("pk", "callback_url"))
    assert {url for _pk, url in jobs} == {receiver.url}
    assert len(jobs) == 2
    run_worker()
    assert {orjson.loads(request.body)["job_id"] for request in receiver.requests} == {
        pk for pk, _url in jobs
    }
    assert all(signed(request) for request in receiver.requests)
