"""The upload as stored: compressed chunks of rows, written at accept time inside
the job's transaction and read back one chunk at a time by the worker, so that
neither side ever holds a large upload as Python objects. A row is stored as its
cells in the job's header order, for CSV lines and JSON objects alike."""

import zlib
from collections.abc import Iterable, Iterator, Sequence
from operator import itemgetter

import lz4.frame
import orjson

from contactload.models import UploadChunk, UploadJob


class RaggedRow(dict):
    """A CSV line whose number of cells differs from the header line's."""

    def __init__(self, headers: list[str], cells: list[str]):
        super().__init__(zip(headers, cells, strict=False))
        self.expected, self.found = len(headers), len(cells)
        if len(cells) > len(headers):
            self["_extra"] = cells[len(headers) :]


# Chunks are LZ4 frames (about 3x smaller than the JSON; ten times faster to read back
# than zlib, which the worker would pay on every row). Chunks stored by versions before
# it are zlib streams, told apart by the frame's magic number.
LZ4_MAGIC = b"\x04\x22\x4d\x18"


def pack(rows: list) -> bytes:
    return lz4.frame.compress(orjson.dumps(rows))


def unpack(data) -> list:
    data = bytes(data)
    if data[:4] == LZ4_MAGIC:
        return orjson.loads(lz4.frame.decompress(data))
    return orjson.loads(zlib.decompress(data))


class ChunkWriter:
    """Stores rows in chunks of ``size`` as they come; call inside a transaction."""

    def __init__(self, job: UploadJob, size: int):
        self.job, self.size = job, size
        self.buffer: list = []
        self.count = 0

    def add_all(self, rows: Iterable) -> None:
        for row in rows:
            self.buffer.append(row)
            if len(self.buffer) >= self.size:
                self.flush()

    def flush(self) -> None:
        if self.buffer:
            UploadChunk.objects.create(
                job=self.job, first_row=self.count, rows=len(self.buffer), data=pack(self.buffer)
            )
            self.count += len(self.buffer)
            self.buffer = []


def stored_chunks(job: UploadJob, start: int = 0) -> Iterator[tuple[int, bytes]]:
    """(0-based position of the first row, stored data) of each chunk from ``start``,
    read one at a time."""
    chunk_ids = list(
        UploadChunk.objects.filter(job=job, first_row__gte=start)
        .order_by("first_row")
        .values_list("pk", flat=True)
    )
    for chunk_id in chunk_ids:
        first_row, data = UploadChunk.objects.values_list("first_row", "data").get(pk=chunk_id)
        yield first_row, bytes(data)


def row_dict(headers: list[str], cells: Sequence) -> dict:
    """A row given as cells, as header -> value (a line of the wrong width as RaggedRow)."""
    if len(cells) == len(headers):
        return dict(zip(headers, cells, strict=True))
    return RaggedRow(headers, list(cells))


def cells_of(rows: list[dict], headers: Sequence[str]) -> list[Sequence]:
    """JSON rows (every one carries every header) as cells in ``headers`` order: what
    is stored, smaller than the objects and quicker to read back."""
    if len(headers) == 1:
        return [(row[headers[0]],) for row in rows]
    return list(map(itemgetter(*headers), rows))


def as_dicts(job: UploadJob, rows: list) -> list[dict]:
    """Stored rows as header -> value."""
    if rows and isinstance(rows[0], dict):  # a JSON chunk stored by an earlier version
        return rows
    headers = list(job.headers)
    return [row_dict(headers, cells) for cells in rows]


def as_cells(job: UploadJob, rows: list) -> list[Sequence]:
    """Stored rows as cells in the job's header order."""
    if rows and isinstance(rows[0], dict):  # a JSON chunk stored by an earlier version
        return cells_of(rows, list(job.headers))
    return rows


def read_chunks(job: UploadJob, start: int = 0) -> Iterator[tuple[int, list[dict]]]:
    """(0-based position of the first row, rows as dicts) for each chunk from ``start``."""
    for first_row, data in stored_chunks(job, start):
        yield first_row, as_dicts(job, unpack(data))


def all_rows(job: UploadJob) -> Iterator[dict]:
    for _first_row, rows in read_chunks(job):
        yield from rows
