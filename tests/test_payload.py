"""Stored chunks: what the worker reads back is what was accepted, in this version's
format and in the formats of earlier versions (a job accepted before an upgrade)."""

import zlib

import orjson

from contactload.ingest import payload
from contactload.models import UploadJob

ROWS = [["9876543210", "Asha", None], ["9876543211", "Ravi", 2]]


def test_a_chunk_reads_back_as_it_was_packed():
    assert payload.unpack(payload.pack(ROWS)) == ROWS


def test_a_chunk_of_an_earlier_version_is_read_back():
    assert payload.unpack(zlib.compress(orjson.dumps(ROWS), 1)) == ROWS


def test_json_rows_of_an_earlier_version_are_read_as_cells_and_as_rows():
    job = UploadJob(headers=["numeric", "first_name", "priority"], source=UploadJob.Source.JSON)
    objects = [dict(zip(job.headers, row, strict=True)) for row in ROWS]
    assert payload.as_cells(job, objects) == [tuple(row) for row in ROWS]
    assert payload.as_dicts(job, objects) == objects
    assert payload.as_dicts(job, ROWS) == objects  # as stored since
