"""``push``: send an input file to ``POST /api/bulkphonebookupload/v1/`` in chunks, each
with an Idempotency-Key derived from its content, campaign, action and position (so a
re-run after a failure re-sends the same keys), wait for the chunk jobs, write the
rejects file and return the outcome. HTTP only; raises PushError (exit codes 2 and 3)."""

import hashlib
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import orjson
from tqdm import tqdm

from contactload.client.errors import InputError, ServerError
from contactload.client.rejects import write_rejects
from contactload.client.source import Chunk, open_source
from contactload.client.transport import Server

# Exit codes (2 and 3 are raised as PushError: see errors.py).
ACCEPTED, REJECTED, JOB_FAILED = 0, 1, 4
MAX_CHUNK_ROWS = 100_000
UPLOAD = "/api/bulkphonebookupload/v1/"
FINISHED = ("completed", "failed")
# A server that omits ``state`` (Flexydial) still has its ``status`` words.
STATE_OF_STATUS = {"Completed": "completed", "Invalid Data": "completed", "Failed": "failed"}


@dataclass(frozen=True, slots=True)
class PushOptions:
    path: Path
    campaign: str
    url: str
    token: str
    action: str = "insert"
    reference_field: str | None = None
    callback_url: str | None = None  # each chunk's job POSTs its final status there
    chunk_rows: int = 10_000
    rejects: Path | None = None  # default: <input stem>.rejected.csv beside the input
    wait: bool = True
    timeout: float = 3600.0  # seconds to wait for the jobs, in all
    poll_interval: float = 0.5


@dataclass(slots=True)
class ChunkJob:
    job_id: str
    offset: int  # data rows of the input before this chunk
    rows: int
    state: str = "queued"
    inserted: int = 0
    updated: int = 0
    rejected: int = 0
    status: dict = field(default_factory=dict)  # the last status body

    @property
    def processed(self) -> int:
        return self.inserted + self.updated + self.rejected

    def describe(self) -> str:
        return f"job {self.job_id} (rows {self.offset + 1}-{self.offset + self.rows})"


@dataclass(slots=True)
class PushResult:
    rows: int
    jobs: list[ChunkJob]
    waited: bool
    rejects_path: Path | None = None
    warnings: list[str] = field(default_factory=list)

    def total(self, name: str) -> int:
        return sum(getattr(job, name) for job in self.jobs)

    @property
    def unfinished(self) -> list[ChunkJob]:
        return [job for job in self.jobs if job.state != "completed"]

    @property
    def exit_code(self) -> int:
        if not self.waited:
            return ACCEPTED
        if self.unfinished:
            return JOB_FAILED
        return REJECTED if self.total("rejected") else ACCEPTED

    def report(self) -> list[str]:
        """The lines for stdout."""
        if not self.waited:
            return [f"{job.describe()}: sent" for job in self.jobs] + [
                f"rows: {self.rows}, jobs: {len(self.jobs)} (not waited for)"
            ]
        lines = [
            f"rows: {self.rows}, inserted: {self.total('inserted')}, "
            f"updated: {self.total('updated')}, rejected: {self.total('rejected')}, "
            f"jobs: {len(self.jobs)}"
        ]
        for job in self.unfinished:
            if job.state == "failed":
                reason = job.status.get("errors") or "failed"
                lines.append(f"{job.describe()}: failed: {reason}")
            else:
                lines.append(f"{job.describe()}: still {job.state} when the wait timed out")
        if self.rejects_path is not None:
            lines.append(f"rejected rows: {self.rejects_path}")
        return lines


def push(options: PushOptions) -> PushResult:
    if not 1 <= options.chunk_rows <= MAX_CHUNK_ROWS:
        raise InputError(f"--chunk-rows must be between 1 and {MAX_CHUNK_ROWS}")
    if (options.action == "update") != bool(options.reference_field):
        raise InputError("--reference-field goes with --update, and --update needs it")
    if not options.path.is_file():  # before the token: the likelier mistake
        raise InputError(f"{options.path}: no such file")
    server = Server(options.url, options.token)
    source = open_source(options.path)
    result = PushResult(rows=source.total, jobs=[], waited=options.wait)
    with progress(source.total, "sent") as bar:
        for chunk in source.chunks(options.chunk_rows):
            try:
                result.jobs.append(send_chunk(server, options, chunk))
            except ServerError as exc:
                if result.jobs:  # say what a re-run will re-send
                    exc.message += (
                        f" ({len(result.jobs)} chunk(s) were sent before; running the same "
                        "command again re-sends them with the same Idempotency-Keys)"
                    )
                raise
            bar.update(len(chunk.rows))
    if not options.wait:
        return result
    wait_for_jobs(server, result.jobs, options)
    if result.total("rejected"):
        path = options.rejects or options.path.with_name(f"{options.path.stem}.rejected.csv")
        done = [job for job in result.jobs if job.state == "completed"]
        _written, result.warnings = write_rejects(server, done, source.headers, path)
        result.rejects_path = path
    return result


def send_chunk(server: Server, options: PushOptions, chunk: Chunk) -> ChunkJob:
    envelope = {"campaign": options.campaign, "action_type": options.action}
    if options.reference_field:
        envelope["reference_field"] = options.reference_field
    if options.callback_url:
        envelope["callback_url"] = options.callback_url
    rows_json = orjson.dumps(chunk.rows)
    body = orjson.dumps({**envelope, "bulk_data": orjson.Fragment(rows_json)})
    key = idempotency_key(envelope, chunk.index, rows_json)
    last = chunk.offset + len(chunk.rows)
    answer = server.post_json(
        UPLOAD,
        body,
        headers={"Idempotency-Key": key},
        what=f"upload of rows {chunk.offset + 1}-{last}",
    )
    job_id = answer.get("job_id")
    if not isinstance(job_id, str) or not job_id:
        raise ServerError(f"the server's answer to rows {chunk.offset + 1}-{last} has no job_id")
    return ChunkJob(job_id=job_id, offset=chunk.offset, rows=len(chunk.rows))


def idempotency_key(envelope: dict, index: int, rows_json: bytes) -> str:
    """Same file, campaign, action and chunking: same keys, run after run."""
    content = hashlib.sha256(rows_json).hexdigest()
    identity = orjson.dumps([envelope, index, content], option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(b"contactload-push/1\n" + identity).hexdigest()


def wait_for_jobs(server: Server, jobs: list[ChunkJob], options: PushOptions) -> None:
    """Poll the jobs until each is finished or ``options.timeout`` has passed. Workers take
    jobs in order, so a round stops at the first job still queued: a push of many chunks
    costs a few requests a round, not one per chunk."""
    deadline = time.monotonic() + options.timeout
    pending = list(jobs)
    with progress(sum(job.rows for job in jobs), "processed") as bar:
        while pending:
            last_round = time.monotonic() >= deadline
            for job in list(pending):
                poll(server, job)
                if job.state in FINISHED:
                    pending.remove(job)
                elif job.state == "queued" and not last_round:
                    break
            bar.update(sum(job.processed for job in jobs) - bar.n)
            if last_round:
                return
            if pending:
                time.sleep(options.poll_interval)


def poll(server: Server, job: ChunkJob) -> None:
    body = server.get_json(
        f"/api/bulkphonebookupload/status/{job.job_id}/", what=f"status of {job.describe()}"
    )
    job.status = body
    job.state = str(body.get("state") or STATE_OF_STATUS.get(body.get("status"), job.state))
    for name in ("inserted", "updated", "rejected"):
        value = body.get(name)
        if isinstance(value, int):
            setattr(job, name, value)


def progress(total: int, description: str) -> tqdm:
    """A bar on stderr, shown only when stderr is a terminal."""
    return tqdm(
        total=total, desc=description, unit=" rows", unit_scale=True, file=sys.stderr, disable=None
    )
