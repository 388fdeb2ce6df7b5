"""How a rejected row is kept (``RowResult``): its messages in the order of its
columns, and the row as sent, made fit for a JSON column. Made where a chunk is
checked, so that the thread writing chunks only sends them."""

import orjson

from contactload.ingest import writers
from contactload.ingest.rows import CheckedRow
from contactload.models import UploadJob

STORED_CHARS = 1_000  # of a rejected row's value, as kept for its report


def encoded(job: UploadJob, rejected: list[CheckedRow]) -> object:
    """``rejected`` as ``writers.insert_row_results`` writes them (``ROW_RESULT_COLUMNS``;
    None when there are none)."""
    order = {header: position for position, header in enumerate(job.headers)}
    for row in rejected:  # report a row's messages in the order of its columns
        row.errors.sort(key=lambda error: order.get(error[0], len(order)))
    return writers.encode_rows(
        [
            (job.pk, row.row, storable(row.raw), orjson.dumps(row.errors).decode())
            for row in rejected
        ]
    )


def storable(raw: dict) -> str:
    """The row as sent, as JSON text fit for a JSON column: NUL (which PostgreSQL's
    jsonb refuses) replaced, and values cut at STORED_CHARS with a note of their length."""
    cut = {}
    for header, value in raw.items():
        text = value if isinstance(value, str) else None
        if isinstance(value, dict | list):
            text = orjson.dumps(value).decode()
        if text is not None and len(text) > STORED_CHARS:
            value = f"{text[:STORED_CHARS]}… ({len(text)} characters)"
        cut[header] = value
    return orjson.dumps(cut).decode().replace("\\u0000", "\\ufffd")
