"""The rejects file: every rejected row of a push in one CSV (``row``, the input's
headers, ``description``), ``row`` being the row's 1-based data line in the whole input.
Rows come from each job's ``improper_data.csv``, streamed; from a server without that
endpoint (404), from the status body's ``improper_data``, which may be cut (a warning)."""

import csv
import io
from collections.abc import Iterable, Iterator
from pathlib import Path

from contactload.client.transport import Server
from contactload.spreadsheet import cell

# What spreadsheets run as a formula; the server's CSV neutralises these cells the same way.


def csv_path(job_id: str) -> str:
    return f"/api/bulkphonebookupload/status/{job_id}/improper_data.csv"


def write_rejects(
    server: Server, jobs: Iterable, headers: Iterable[str], path: Path
) -> tuple[int, list[str]]:
    """Write the rejected rows of ``jobs`` (finished, in input order; each with ``job_id``,
    ``offset``, ``rejected`` and its final ``status`` body) to ``path``.
    Returns (rows written, warnings)."""
    headers = list(headers)
    warnings: list[str] = []
    written = 0
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["row", *headers, "description"])
        for job in jobs:
            if not job.rejected:
                continue
            count = 0
            for position, values, description in job_rejects(server, job, warnings):
                global_row = job.offset + position
                writer.writerow([global_row, *(values.get(h, "") for h in headers), description])
                count += 1
            written += count
            if count < job.rejected:
                warnings.append(
                    f"warning: job {job.job_id}: the server listed only {count} of its "
                    f"{job.rejected} rejected rows; {path} is incomplete"
                )
    return written, warnings


def job_rejects(server: Server, job, warnings: list[str]) -> Iterator[tuple[int, dict, str]]:
    """(1-based row within the job, {header: cell}, description) of each rejected row."""
    response = server.get(
        csv_path(job.job_id), what=f"rejected rows of job {job.job_id}", missing_ok=True
    )
    if response is None:
        yield from status_rejects(job)
        return
    with response, io.TextIOWrapper(response, encoding="utf-8-sig", newline="") as text:
        for record in csv.DictReader(text):
            yield int(record["row"].lstrip("'")), record, record.get("description", "")


def status_rejects(job) -> Iterator[tuple[int, dict, str]]:
    for item in job.status.get("improper_data") or []:
        values = {key: cell(value) for key, value in item.items()}
        yield int(item["row"]), values, cell(item.get("description", ""))
