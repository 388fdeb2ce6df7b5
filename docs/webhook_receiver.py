#!/usr/bin/env python3
"""A receiver for contactload's completion callbacks: checks each POST's signature and
prints the job's outcome. Standard library only. Run it with the deployment's secret:

    CONTACTLOAD_WEBHOOK_SECRET=... python3 docs/webhook_receiver.py --port 8080

and upload with "callback_url": "http://<this host>:8080/contactload". Each callback is a
POST of the job's status body (the JSON of GET /api/bulkphonebookupload/status/<job_id>/),
Content-Type: application/json, with two headers:

    X-Contactload-Timestamp: <unix seconds when this attempt was signed>
    X-Contactload-Signature: sha256=<hex HMAC-SHA256, key = the secret,
                                     message = b"<timestamp>." + the raw body>

To verify: recompute the HMAC over the timestamp header, a dot, and the body bytes exactly
as received (before parsing the JSON), compare in constant time, and refuse a timestamp
more than a few minutes from now (a replayed request). Answer 2xx quickly; anything else,
or no answer within the server's timeout, is retried with back-off, so the same job may
arrive more than once: make handling idempotent by ``job_id``.
"""

import argparse
import contextlib
import hashlib
import hmac
import json
import os
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

TOLERANCE_S = 300  # how far the timestamp may be from our clock
MAX_BODY_BYTES = 16 * 1024 * 1024


def verify(
    secret: str,
    timestamp: str | None,
    signature: str | None,
    body: bytes,
    *,
    now: float | None = None,
    tolerance: float = TOLERANCE_S,
) -> bool:
    """True when ``signature`` is contactload's for ``body`` sent at ``timestamp``, and
    ``timestamp`` is within ``tolerance`` seconds of ``now``."""
    if not (timestamp and signature and timestamp.isascii() and timestamp.isdigit()):
        return False
    if abs((time.time() if now is None else now) - int(timestamp)) > tolerance:
        return False
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return hmac.compare_digest(f"sha256={mac.hexdigest()}", signature)


class CallbackHandler(BaseHTTPRequestHandler):
    secret = ""

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if not 0 < length <= MAX_BODY_BYTES:
            self.answer(400)
            return
        body = self.rfile.read(length)
        timestamp = self.headers.get("X-Contactload-Timestamp")
        signature = self.headers.get("X-Contactload-Signature")
        if not verify(self.secret, timestamp, signature, body):
            self.answer(401)
            return
        status = json.loads(body)
        print(
            f"job {status['job_id']}: {status['status']} "
            f"(inserted {status['inserted']}, updated {status['updated']}, "
            f"rejected {status['rejected']} of {status['total']})",
            flush=True,
        )
        self.answer(204)

    def answer(self, code: int) -> None:
        self.send_response(code)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args) -> None:
        sys.stderr.write(f"{self.address_string()} {format % args}\n")


def main() -> None:
    parser = argparse.ArgumentParser(description="Receive contactload completion callbacks.")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=8080, help="port to listen on")
    args = parser.parse_args()
    secret = os.environ.get("CONTACTLOAD_WEBHOOK_SECRET")
    if not secret:
        parser.error("set CONTACTLOAD_WEBHOOK_SECRET to the server's secret")
    CallbackHandler.secret = secret
    server = ThreadingHTTPServer((args.host, args.port), CallbackHandler)
    print(f"listening on http://{args.host}:{server.server_port}/", flush=True)
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C stops it
        server.serve_forever()


if __name__ == "__main__":
    main()
