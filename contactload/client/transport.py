"""HTTP to a contactload server with the standard library: a token on every request,
JSON via orjson, every failure one ServerError with a one-line message ("cannot reach
http://...: connection refused", "authentication failed (401): Invalid token.", the
server's ``{"errors": ...}`` verbatim). Only GETs are retried on transient failures."""

import http.client
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import IO

import orjson

from contactload.client.errors import InputError, ServerError

TRANSIENT_STATUSES = {502, 503, 504}
GET_ATTEMPTS = 3
RETRY_DELAY = 1.0


class Server:
    def __init__(self, url: str, token: str, *, timeout: float = 300.0):
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise InputError(f"invalid server URL {url!r}: expected http://host[:port]")
        if not token:
            raise InputError("no API token: pass --token or set CONTACTLOAD_TOKEN")
        self.url = url.rstrip("/")
        self.token = token
        self.timeout = timeout

    def post_json(self, path: str, body: bytes, *, headers: dict[str, str], what: str) -> dict:
        headers = {"Content-Type": "application/json", **headers}
        with self.open("POST", path, body=body, headers=headers, what=what) as response:
            return self.json_of(response.read(), what)

    def get_json(self, path: str, *, what: str) -> dict:
        with self.get(path, what=what) as response:
            return self.json_of(response.read(), what)

    def get(self, path: str, *, what: str, missing_ok: bool = False) -> IO[bytes] | None:
        """An open response to read from (None for a 404 when ``missing_ok``)."""
        for attempt in range(1, GET_ATTEMPTS + 1):
            try:
                return self.open("GET", path, what=what)
            except TransientError as exc:
                if attempt == GET_ATTEMPTS:
                    raise ServerError(exc.message) from None
                time.sleep(RETRY_DELAY * attempt)
            except NotFound as exc:
                if missing_ok:
                    return None
                raise ServerError(exc.message) from None
        raise AssertionError("unreachable")

    def open(self, method, path, *, what, body=None, headers=None) -> IO[bytes]:
        request = urllib.request.Request(
            self.url + path,
            data=body,
            method=method,
            headers={
                "Authorization": f"Token {self.token}",
                "Accept": "application/json",
                **(headers or {}),
            },
        )
        try:
            return urllib.request.urlopen(request, timeout=self.timeout)
        except urllib.error.HTTPError as exc:
            raise self.refusal(exc, what) from None
        except urllib.error.URLError as exc:
            raise self.unreachable(exc.reason, method) from None
        except (OSError, http.client.HTTPException) as exc:
            raise self.unreachable(exc, method) from None

    def unreachable(self, reason: object, method: str) -> ServerError:
        if isinstance(reason, ConnectionRefusedError):
            detail = "connection refused"
        elif isinstance(reason, TimeoutError):
            detail = f"no answer within {self.timeout:g} s"
        elif isinstance(reason, OSError) and reason.strerror:
            detail = reason.strerror.lower()
        else:
            detail = str(reason) or type(reason).__name__
        message = f"cannot reach {self.url}: {detail}"
        # A refused connection never reached the server; anything else on a GET may pass.
        transient = method == "GET" and not isinstance(reason, ConnectionRefusedError)
        return TransientError(message) if transient else ServerError(message)

    def refusal(self, exc: urllib.error.HTTPError, what: str) -> ServerError:
        status = exc.code
        try:
            raw = exc.read()
        except (OSError, http.client.HTTPException):
            raw = b""
        message = server_message(raw) or exc.reason or "no message"
        if status == 401:
            return ServerError(f"authentication failed (401): {message}")
        if status == 404:
            return NotFound(f"{what} failed (404): {message}")
        if status in TRANSIENT_STATUSES:
            return TransientError(f"{what} failed ({status}): {message}")
        return ServerError(f"{what} failed ({status}): {message}")

    def json_of(self, raw: bytes, what: str) -> dict:
        try:
            data = orjson.loads(raw)
        except orjson.JSONDecodeError:
            data = None
        if not isinstance(data, dict):
            raise ServerError(f"{what}: the server at {self.url} did not answer with JSON")
        return data


class TransientError(ServerError):
    """Worth another try (GETs only)."""


class NotFound(ServerError):
    pass


def server_message(raw: bytes) -> str:
    """The server's ``{"errors": ...}`` or DRF's ``{"detail": ...}``, verbatim; else the
    body's first line."""
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError:
        data = None
    if isinstance(data, dict):
        for key in ("errors", "detail", "non_field_errors"):
            if key in data:
                value = data[key]
                return value if isinstance(value, str) else orjson.dumps(value).decode()
    text = raw.decode("utf-8", "replace").strip()
    return text.splitlines()[0][:200] if text else ""
