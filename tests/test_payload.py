"""Stored chunks: what the worker reads back is what was accepted, in this version's
format and in the formats of earlier versions (a job accepted before an upgrade)."""

import zlib

import lz4.frame
import orjson
import pytest
from django.db import connection

from contactload.ingest import payload
from contactload.ingest.payload import Chunk, RaggedRow

HEADERS = ["numeric", "first_name", "priority"]
ROWS = [["9876543210", "Asha", None], ["9876543211", "Ravi", 2]]
OBJECTS = [dict(zip(HEADERS, row, strict=True)) for row in ROWS]


def test_a_chunk_reads_back_column_by_column_as_it_was_packed():
    chunk = payload.unpack(payload.pack(Chunk.of_rows(ROWS, 3)), HEADERS)
    assert chunk.size == 2
    assert [list(column) for column in chunk.columns] == [
        list(cells) for cells in zip(*ROWS, strict=True)
    ]
    assert chunk.ragged == {}
    assert [list(cells) for cells in chunk.rows()] == ROWS
    assert [list(chunk.cells(index)) for index in range(2)] == ROWS
    assert chunk.dicts(HEADERS) == OBJECTS


def test_lines_of_another_width_read_back_as_sent_and_are_blank_in_the_columns():
    rows = [["9876543210"], ROWS[1], ["9876543212", "Meena", "3", "extra"]]
    chunk = payload.unpack(payload.pack(Chunk.of_rows(rows, 3)), HEADERS)
    assert chunk.ragged == {0: ["9876543210"], 2: ["9876543212", "Meena", "3", "extra"]}
    assert [list(column) for column in chunk.columns] == [
        [None, "9876543211", None],
        [None, "Ravi", None],
        [None, 2, None],
    ]
    assert [list(cells) for cells in chunk.rows()] == rows
    assert chunk.cells(2) == rows[2]
    short, whole, long = chunk.dicts(HEADERS)
    assert isinstance(short, RaggedRow)
    assert (short.expected, short.found) == (3, 1)
    assert whole == OBJECTS[1]
    assert isinstance(long, RaggedRow)
    assert long["_extra"] == ["extra"]


def test_row_wise_chunks_of_earlier_versions_are_read_back():
    for data in (
        lz4.frame.compress(orjson.dumps(ROWS)),  # cells, LZ4
        zlib.compress(orjson.dumps(ROWS), 1),  # cells, zlib
        zlib.compress(orjson.dumps(OBJECTS), 1),  # JSON objects, zlib
        lz4.frame.compress(orjson.dumps(OBJECTS)),  # JSON objects, LZ4
    ):
        chunk = payload.unpack(data, HEADERS)
        assert chunk.size == 2
        assert [list(cells) for cells in chunk.rows()] == ROWS
        assert chunk.dicts(HEADERS) == OBJECTS


@pytest.mark.django_db
def test_postgresql_stores_a_chunk_as_sent_without_compressing_it_again():
    if connection.vendor != "postgresql":
        pytest.skip("a PostgreSQL column setting: the PostgreSQL pass")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT attstorage FROM pg_attribute WHERE attrelid = %s::regclass AND attname = %s",
            ['"contactload_uploadchunk"', "data"],
        )
        assert cursor.fetchone() == ("e",)  # EXTERNAL: out of line, never compressed
