"""The upload as stored: compressed chunks of rows, written at accept time inside
the job's transaction and read back one chunk at a time by the worker, so that
neither side ever holds a large upload as Python objects. A chunk is stored column
by column (``Chunk``), in the job's header order, for CSV lines and JSON objects alike."""

import struct
import tempfile
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


class Chunk:
    """A chunk's rows column by column, as the worker checks them: ``columns[k]`` holds
    every row's cell of the k-th header. A line of the wrong width (``ragged``: index
    -> its cells) is None in every column. Stored so, a chunk reads back as a dozen
    lists rather than thousands: quicker to read, and nothing for the cyclic garbage
    collector to go through again and again while the chunk is worked on."""

    __slots__ = ("columns", "ragged", "size")

    def __init__(self, columns: list[Sequence], ragged: dict[int, list], size: int):
        self.columns, self.ragged, self.size = columns, ragged, size

    @classmethod
    def of_rows(cls, rows: Sequence[Sequence], width: int) -> "Chunk":
        """Rows given as cells (lines of another width among them)."""
        ragged = {}
        if rows and set(map(len, rows)) != {width}:
            ragged = {index: list(row) for index, row in enumerate(rows) if len(row) != width}
            rows = [(None,) * width if index in ragged else row for index, row in enumerate(rows)]
        columns = list(zip(*rows, strict=True)) if rows else [() for _ in range(width)]
        return cls(columns, ragged, len(rows))

    def cells(self, index: int) -> Sequence:
        """One row's cells, as sent."""
        found = self.ragged.get(index)
        return found if found is not None else [column[index] for column in self.columns]

    def rows(self) -> list[Sequence]:
        """Every row's cells, as sent."""
        rows = list(zip(*self.columns, strict=True)) if self.columns else [()] * self.size
        for index, cells in self.ragged.items():
            rows[index] = cells
        return rows

    def dicts(self, headers: list[str]) -> list[dict]:
        """Every row as header -> value."""
        return [row_dict(headers, cells) for cells in self.rows()]


def pack(chunk: Chunk) -> bytes:
    """``{"size": n, "columns": [...], "ragged": [[index, cells], ...]}``, LZ4-framed."""
    stored = {"size": chunk.size, "columns": chunk.columns, "ragged": list(chunk.ragged.items())}
    return lz4.frame.compress(orjson.dumps(stored))


def unpack(data, headers: Sequence[str]) -> Chunk:
    """A stored chunk; also one of the row-wise formats of earlier versions: a list of
    rows as cells, or of JSON objects (those always carry every header)."""
    data = bytes(data)
    if data[:4] == LZ4_MAGIC:
        stored = orjson.loads(lz4.frame.decompress(data))
    else:
        stored = orjson.loads(zlib.decompress(data))
    if isinstance(stored, dict):
        return Chunk(stored["columns"], dict(stored["ragged"]), stored["size"])
    if stored and isinstance(stored[0], dict):
        stored = cells_of(stored, headers)
    return Chunk.of_rows(stored, len(headers))


class PackedSpool:
    """Rows (cells in header order) packed in chunks of ``size`` as they come, into a
    temporary file: a CSV is read and packed before the job's transaction, which then
    only stores the chunks (on SQLite, a running job waits for that transaction)."""

    HEAD = struct.Struct("<II")  # a chunk's rows, then its data's length

    def __init__(self, width: int, size: int):
        self.width, self.size = width, size
        self.file = tempfile.TemporaryFile()  # noqa: SIM115 - closed by close()
        self.buffer: list = []
        self.count = 0  # rows packed

    def __enter__(self) -> "PackedSpool":
        return self

    def __exit__(self, *exc_info) -> None:
        self.file.close()

    def add_all(self, rows: Iterable) -> None:
        for row in rows:
            self.buffer.append(row)
            if len(self.buffer) >= self.size:
                self.flush()
        self.flush()

    def flush(self) -> None:
        if self.buffer:
            chunk = Chunk.of_rows(self.buffer, self.width)
            self.buffer = []
            data = pack(chunk)
            self.file.write(self.HEAD.pack(chunk.size, len(data)) + data)
            self.count += chunk.size

    def chunks(self) -> Iterator[tuple[int, bytes]]:
        """(rows, data) of each chunk, in order, read one at a time."""
        self.file.seek(0)
        while head := self.file.read(self.HEAD.size):
            rows, length = self.HEAD.unpack(head)
            yield rows, self.file.read(length)


def store_chunks(job: UploadJob, packed: Iterable[tuple[int, bytes]]) -> int:
    """Store packed chunks ((rows, data), in order) as the job's; call inside a
    transaction. The number of rows stored."""
    count = 0
    for rows, data in packed:
        UploadChunk.objects.create(job=job, first_row=count, rows=rows, data=data)
        count += rows
    return count


def pack_objects(rows: list[dict], headers: Sequence[str], size: int) -> list[tuple[int, bytes]]:
    """JSON rows (each one carries every header) as packed chunks of ``size`` rows:
    (rows, data) each, taken column by column without making each row's cells first.
    Needs no database: done before the job's transaction, it keeps that one short (on
    SQLite, the worker waits for the write lock meanwhile)."""
    getters = [itemgetter(header) for header in headers]
    return [
        (len(part), pack(Chunk([list(map(get, part)) for get in getters], {}, len(part))))
        for part in (rows[start : start + size] for start in range(0, len(rows), size))
    ]


def stored_chunks(job: UploadJob, start: int = 0) -> Iterator[tuple[int, bytes]]:
    """(0-based position of the first row, stored data) of each chunk from ``start``,
    read one at a time."""
    for chunk_id in chunk_ids(job, start):
        yield chunk_data(chunk_id)


def chunk_ids(job: UploadJob, start: int = 0) -> list[int]:
    """The ids of the job's chunks from ``start``, in upload order."""
    return list(
        UploadChunk.objects.filter(job=job, first_row__gte=start)
        .order_by("first_row")
        .values_list("pk", flat=True)
    )


def chunk_data(chunk_id: int) -> tuple[int, bytes]:
    """(0-based position of the first row, stored data) of one chunk."""
    first_row, data = UploadChunk.objects.values_list("first_row", "data").get(pk=chunk_id)
    return first_row, bytes(data)


def row_dict(headers: list[str], cells: Sequence) -> dict:
    """A row given as cells, as header -> value (a line of the wrong width as RaggedRow)."""
    if len(cells) == len(headers):
        return dict(zip(headers, cells, strict=True))
    return RaggedRow(headers, list(cells))


def cells_of(rows: list[dict], headers: Sequence[str]) -> list[Sequence]:
    """JSON rows (every one carries every header) as cells in ``headers`` order (the
    rows of a chunk stored as objects by an earlier version)."""
    if len(headers) == 1:
        return [(row[headers[0]],) for row in rows]
    return list(map(itemgetter(*headers), rows))


def read_chunks(job: UploadJob, start: int = 0) -> Iterator[tuple[int, list[dict]]]:
    """(0-based position of the first row, rows as dicts) for each chunk from ``start``."""
    headers = list(job.headers)
    for first_row, data in stored_chunks(job, start):
        yield first_row, unpack(data, headers).dicts(headers)


def all_rows(job: UploadJob) -> Iterator[dict]:
    for _first_row, rows in read_chunks(job):
        yield from rows
