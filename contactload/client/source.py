"""An input file as chunks of rows. CSV (UTF-8, with or without BOM; the header line
names the columns; values stay strings, empty cells "") is streamed: ``open_source``
reads it through once to check every line and count the rows, so that a bad file fails
before anything is sent, and ``Source.chunks`` streams it again. JSON is loaded whole."""

import csv
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import orjson

from contactload.client.errors import InputError

BOM = b"\xef\xbb\xbf"


@dataclass(frozen=True, slots=True)
class Chunk:
    index: int  # 0-based position of the chunk in the file
    offset: int  # data rows of the file before this chunk
    rows: list[dict]


@dataclass(frozen=True, slots=True)
class Source:
    path: Path
    headers: tuple[str, ...]  # in file order (JSON: every key, in order of first use)
    total: int  # data rows
    json_rows: list[dict] | None = None  # a JSON file's rows; None for CSV

    def chunks(self, size: int) -> Iterator[Chunk]:
        rows = self.json_rows if self.json_rows is not None else csv_rows(self.path)
        batch: list[dict] = []
        offset = index = 0
        for row in rows:
            batch.append(row)
            if len(batch) == size:
                yield Chunk(index, offset, batch)
                index, offset, batch = index + 1, offset + size, []
        if batch:
            yield Chunk(index, offset, batch)


def open_source(path: Path) -> Source:
    """Check ``path`` whole and describe it; raises InputError for anything unusable."""
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    try:
        with path.open("rb") as handle:
            start = handle.read(4096).removeprefix(BOM).lstrip()
    except OSError as exc:
        raise InputError(f"{path}: {exc.strerror}") from None
    if path.suffix.lower() == ".json" or start[:1] in (b"[", b"{"):
        return open_json(path)
    return open_csv(path)


def read_csv(path: Path) -> Iterator[tuple[int, list[str]]]:
    """(physical line number, cells) of every non-blank line, header first."""
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            reader = csv.reader(handle, strict=True)
            try:
                for cells in reader:
                    if cells:
                        yield reader.line_num, cells
            except csv.Error as exc:
                raise InputError(f"{path}: line {reader.line_num}: {exc}") from None
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None


def open_csv(path: Path) -> Source:
    lines = read_csv(path)
    first = next(lines, None)
    if first is None:
        raise InputError(f"{path}: empty file: expected a header line")
    headers = tuple(name.strip() for name in first[1])
    if not all(headers):
        raise InputError(f"{path}: line 1: the header line has an empty column name")
    repeated = sorted({name for name in headers if headers.count(name) > 1})
    if repeated:
        raise InputError(f"{path}: line 1: repeated column name(s): {', '.join(repeated)}")
    total = 0
    for number, cells in lines:
        if len(cells) != len(headers):
            raise InputError(
                f"{path}: line {number}: {len(cells)} cells, but the header line has {len(headers)}"
            )
        total += 1
    if not total:
        raise InputError(f"{path}: no data lines after the header line")
    return Source(path, headers, total)


def csv_rows(path: Path) -> Iterator[dict]:
    lines = read_csv(path)
    _number, header = next(lines)
    headers = [name.strip() for name in header]
    for _number, cells in lines:
        yield dict(zip(headers, cells, strict=True))


def open_json(path: Path) -> Source:
    try:
        data = orjson.loads(path.read_bytes().removeprefix(BOM))
    except orjson.JSONDecodeError as exc:
        raise InputError(f"{path}: invalid JSON: {exc}") from None
    rows = data.get("bulk_data") if isinstance(data, dict) else data
    if not isinstance(rows, list):
        raise InputError(f'{path}: expected a list of rows or {{"bulk_data": [...]}}')
    if not rows:
        raise InputError(f"{path}: no rows")
    for position, row in enumerate(rows, start=1):
        if not isinstance(row, dict):
            raise InputError(f"{path}: row {position} is not an object")
    headers = dict.fromkeys(key for row in rows for key in row)
    return Source(path, tuple(headers), len(rows), json_rows=rows)
