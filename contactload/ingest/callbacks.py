"""Completion callbacks (CONTRACT 5.5): a finished job's status body is POSTed to its
``callback_url`` by a task of its own, signed with HMAC-SHA256 over "<timestamp>." + body;
every attempt is a CallbackAttempt, a failed one is retried with exponential back-off a
bounded number of times. Only http(s) hosts with public addresses are called."""

import hashlib
import hmac
import http.client
import ipaddress
import logging
import socket
import ssl
import time
import urllib.parse
from datetime import timedelta
from typing import NamedTuple

import orjson
from django.conf import settings
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from contactload import errors, metrics
from contactload.ingest.status import status_body
from contactload.models import CallbackAttempt, UploadJob

logger = logging.getLogger("contactload.callbacks")

MAX_URL_CHARS = 2000  # UploadJob.callback_url's size
ANSWER_CHARS = 200  # of a refusing receiver's answer, kept with the attempt
DEFAULT_PORTS = {"http": 80, "https": 443}
# The first that applies names a refused address in the message.
NON_PUBLIC = ("loopback", "unspecified", "link_local", "multicast", "reserved", "private")


class Target(NamedTuple):
    scheme: str
    host: str
    port: int
    path: str  # path and query: the request line's target


class Outcome(NamedTuple):
    status_code: int | None
    error: str
    retry: bool


class Unresolved(Exception):
    """The host does not resolve, now: at delivery, worth another attempt."""


def check_callback_url(url: str) -> None:
    """Raise InvalidCallbackUrl for a URL contactload will not call (on submit, so that
    a bad URL is a 400, not a job whose callback can never be made)."""
    if not settings.CONTACTLOAD_WEBHOOK_SECRET:
        raise errors.InvalidCallbackUrl("callbacks are off on this server (no webhook secret)")
    try:
        public_addresses(parse(url))
    except Unresolved as exc:
        raise errors.InvalidCallbackUrl(str(exc)) from None


def parse(url: str) -> Target:
    if len(url) > MAX_URL_CHARS:
        raise errors.InvalidCallbackUrl(f"longer than {MAX_URL_CHARS} characters")
    if not url.isascii() or any(char <= " " or char == "\x7f" for char in url):
        raise errors.InvalidCallbackUrl("spaces, control or non-ASCII characters")
    try:
        parts = urllib.parse.urlsplit(url)
        port = parts.port
    except ValueError:
        raise errors.InvalidCallbackUrl("not a valid URL") from None
    if parts.scheme not in DEFAULT_PORTS:
        raise errors.InvalidCallbackUrl("only http and https URLs are accepted")
    if not parts.hostname:
        raise errors.InvalidCallbackUrl("no host")
    if parts.username is not None or parts.password is not None:
        raise errors.InvalidCallbackUrl("user names and passwords in the URL are not accepted")
    if port == 0:
        raise errors.InvalidCallbackUrl("not a valid URL")
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return Target(parts.scheme, parts.hostname, port or DEFAULT_PORTS[parts.scheme], path)


def public_addresses(target: Target) -> list[str]:
    """The host's addresses, each checked: a DNS answer naming an internal address
    refuses the URL (unless CONTACTLOAD_WEBHOOK_ALLOW_PRIVATE)."""
    try:
        found = socket.getaddrinfo(target.host, target.port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        raise Unresolved(f"host {target.host} does not resolve") from None
    addresses = list(dict.fromkeys(str(info[4][0]) for info in found))
    if not settings.CONTACTLOAD_WEBHOOK_ALLOW_PRIVATE:
        for address in addresses:
            if kind := non_public(address):
                article = "an" if kind[0] in "aeiou" else "a"
                raise errors.InvalidCallbackUrl(
                    f"host {target.host} resolves to {address}, {article} {kind} address"
                )
    return addresses


def non_public(address: str) -> str:
    """ "" for a public address, else its kind ("loopback", "private", ...)."""
    ip = ipaddress.ip_address(address.partition("%")[0])  # an IPv6 zone is no part of it
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    for kind in NON_PUBLIC:
        if getattr(ip, f"is_{kind}"):
            return kind.replace("_", "-")
    return "" if ip.is_global else "non-public"


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The X-Contactload-Signature value for ``body`` sent at ``timestamp``."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"sha256={mac.hexdigest()}"


def schedule(job_id: str) -> None:
    """Queue the first attempt at a finished job's callback, if it names one. Runs on
    commit of the job's final state and never raises: a callback cannot fail the job."""
    from contactload.tasks import enqueue_callback  # tasks imports this module

    try:
        if UploadJob.objects.filter(pk=job_id).exclude(callback_url="").exists():
            enqueue_callback(job_id)
    except Exception:
        logger.exception("job %s: its callback could not be queued", job_id)


def deliver(job_id: str, attempt: int) -> None:
    """Make attempt ``attempt`` (1-based) at the job's callback, record it, and queue the
    next one after a back-off if it failed. The attempt's row is claimed first, so a
    second run of the same task sends nothing."""
    from contactload.tasks import enqueue_callback

    job = UploadJob.objects.select_related("campaign", "phonebook").filter(pk=job_id).first()
    if job is None or not job.callback_url or not job.finished:
        return
    try:
        with transaction.atomic():
            record = CallbackAttempt.objects.create(
                job=job, attempt=attempt, started_at=timezone.now()
            )
    except IntegrityError:
        logger.info("job %s: callback attempt %d was made already", job_id, attempt)
        return
    started = time.monotonic()
    outcome = post_status(job)
    delay = next_delay(attempt) if outcome.retry else None
    with transaction.atomic():  # the record and the next attempt's task, together
        CallbackAttempt.objects.filter(pk=record.pk).update(
            duration_ms=round((time.monotonic() - started) * 1000),
            status_code=outcome.status_code,
            error=outcome.error,
            next_attempt_at=None if delay is None else timezone.now() + timedelta(seconds=delay),
        )
        if delay is not None:
            enqueue_callback(job_id, attempt + 1, delay)
    metrics.record(metrics.CALLBACKS, "failed" if outcome.error else "delivered")
    if outcome.error:
        again = "giving up" if delay is None else f"retrying in {delay:g} s"
        logger.warning("job %s: callback attempt %d: %s; %s", job_id, attempt, outcome.error, again)


def next_delay(attempt: int) -> float | None:
    """Seconds from attempt ``attempt`` to the next; None when it was the last."""
    if attempt >= settings.CONTACTLOAD_WEBHOOK_MAX_ATTEMPTS:
        return None
    backoff = settings.CONTACTLOAD_WEBHOOK_BACKOFF_S * 2 ** (attempt - 1)
    return min(backoff, settings.CONTACTLOAD_WEBHOOK_BACKOFF_MAX_S)


def post_status(job: UploadJob) -> Outcome:
    secret = settings.CONTACTLOAD_WEBHOOK_SECRET
    if not secret:
        return Outcome(None, "not sent: no webhook secret is configured", retry=False)
    try:  # again: the host's DNS may have changed since the upload was accepted
        target = parse(job.callback_url)
        addresses = public_addresses(target)
    except errors.InvalidCallbackUrl as exc:
        return Outcome(None, f"not sent: {exc.reason}", retry=False)
    except Unresolved as exc:
        return Outcome(None, str(exc), retry=True)
    csv_path = reverse("job-improper-data-csv", args=[job.pk])
    body = orjson.dumps(status_body(job, improper_data_csv=csv_path))
    timestamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "contactload-callbacks/1",
        "X-Contactload-Timestamp": timestamp,
        "X-Contactload-Signature": sign(secret, timestamp, body),
    }
    try:
        status, answer = send(target, addresses, body, headers)
    except TimeoutError:
        timeout = settings.CONTACTLOAD_WEBHOOK_TIMEOUT_S
        return Outcome(None, f"no answer within {timeout:g} s", retry=True)
    except (OSError, http.client.HTTPException, ValueError) as exc:
        return Outcome(None, str(exc) or type(exc).__name__, retry=True)
    if 200 <= status < 300:
        return Outcome(status, "", retry=False)
    return Outcome(status, f"HTTP {status}" + (f": {answer}" if answer else ""), retry=True)


def send(target: Target, addresses: list[str], body: bytes, headers: dict) -> tuple[int, str]:
    """POST ``body``; the answer's status and the start of its body. Redirects are not
    followed (a 3xx is a failed attempt): they could lead anywhere."""
    kind = PinnedHTTPSConnection if target.scheme == "https" else PinnedHTTPConnection
    timeout = settings.CONTACTLOAD_WEBHOOK_TIMEOUT_S
    connection = kind(target.host, target.port, addresses=addresses, timeout=timeout)
    try:
        connection.request("POST", target.path, body=body, headers=headers)
        response = connection.getresponse()
        return response.status, response.read(ANSWER_CHARS).decode("utf-8", "replace").strip()
    finally:
        connection.close()


class PinnedHTTPConnection(http.client.HTTPConnection):
    """Connects to the addresses that were checked, never to a fresh lookup of ``host``
    (which could now answer differently); ``host`` still names the Host header and, for
    https, the certificate to verify."""

    def __init__(self, host: str, port: int, *, addresses: list[str], timeout: float):
        super().__init__(host, port, timeout=timeout)
        self.addresses = addresses

    def open_socket(self) -> socket.socket:
        failure: OSError = OSError(f"host {self.host} has no address")
        for address in self.addresses:
            try:
                return socket.create_connection((address, self.port), self.timeout)
            except OSError as exc:
                failure = exc
        raise failure

    def connect(self) -> None:
        self.sock = self.open_socket()


class PinnedHTTPSConnection(PinnedHTTPConnection):
    def connect(self) -> None:
        context = ssl.create_default_context()
        self.sock = context.wrap_socket(self.open_socket(), server_hostname=self.host)
