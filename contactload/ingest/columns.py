"""Checking a chunk of an insert column by column (CONTRACT 3.1). Each column's
cleaner (``rows.Cleaners``, the same as the row-by-row check's) runs once per
distinct value of the chunk, and its results are spread back over the rows by
C-level maps; a Python loop visits only the rows that earned an error. Pure: no
database, so a chunk is checked in a thread while the one before it is written."""

from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import compress, repeat
from operator import is_

from contactload.ingest.campaign import CampaignRules
from contactload.ingest.payload import Chunk, row_dict
from contactload.ingest.rows import CheckedRow, Cleaners, Error, Rejection, ragged

NONE_OR_TEXT = {str, type(None)}


@dataclass(slots=True)
class CheckedChunk:
    """A chunk after the per-row rules: clean values by column, errors by row."""

    first: int  # 0-based position of the chunk's first row in the upload
    headers: tuple[str, ...]
    rows: Chunk  # the rows as sent
    errors: dict[int, list[Error]]  # index in the chunk -> the row's errors so far
    clean: dict[str, list]  # header -> clean values (None where the value was rejected)
    numeric: list  # canonical numbers (None where blank or rejected)
    user: list | None  # usernames as sent; None when the upload has no user column
    uniqueid: list | None  # the unique CRM field's values as text, when it is sent
    # the contacts as written, a column per ``writers.CONTACT_COLUMNS`` (inserts)
    contacts: list[list] = field(default_factory=list)

    @property
    def size(self) -> int:
        return self.rows.size

    def rejected(self, errors: dict[int, list[Error]]) -> list[CheckedRow]:
        """The rows ``errors`` names, as sent, in upload order."""
        headers = list(self.headers)
        return [
            CheckedRow(
                row=self.first + index + 1,
                raw=row_dict(headers, self.rows.cells(index)),
                errors=errors[index],
            )
            for index in sorted(errors)
        ]


class ColumnChecker:
    """The per-row rules of an insert, for chunks of rows given column by column in
    ``headers`` order (``payload.Chunk``: CSV lines, JSON objects)."""

    def __init__(self, rules: CampaignRules, headers: Sequence[str], text_only: bool = False):
        self.cleaners = Cleaners(rules)
        self.bulks = {header: self.cleaners.bulk(header) for header in headers}
        self.text_only = text_only  # every value is text or None (CSV): no need to look
        self.headers = tuple(headers)
        unique = rules.unique_field
        self.unique = unique if unique is not None and unique.header in self.headers else None

    def check(self, rows: Chunk, first: int) -> CheckedChunk:
        errors: dict[int, list[Error]] = {}
        clean = {  # a line of the wrong width is checked as a blank line; its error is below
            header: self.column(header, values, errors)
            for header, values in zip(self.headers, rows.columns, strict=True)
        }
        for index, cells in rows.ragged.items():
            errors[index] = [ragged(len(self.headers), len(cells))]
        uniqueid = None
        if self.unique is not None:
            values = clean[self.unique.header]
            uniqueid = values if self.unique.type == "text" else [stringify(v) for v in values]
        return CheckedChunk(
            first=first,
            headers=self.headers,
            rows=rows,
            errors=errors,
            clean=clean,
            numeric=clean.get("numeric", [None] * rows.size),
            user=clean.get("user"),
            uniqueid=uniqueid,
        )

    def column(self, header: str, values: Sequence, errors: dict[int, list[Error]]) -> list:
        """The clean values of one column; adds each rejected value's error to its row."""
        cleaner = self.cleaners[header]
        if not self.text_only and not set(map(type, values)) <= NONE_OR_TEXT:
            # JSON numbers, objects and booleans: not all hashable, and True == 1
            out = list(map(cleaner, values))
            for index, value in enumerate(out):
                if type(value) is Rejection:
                    errors.setdefault(index, []).append(value.error)
                    out[index] = None
            return out
        distinct = set(values)
        bulk = self.bulks.get(header) if 2 * len(distinct) > len(values) else None
        if bulk is None:
            return memoized(cleaner, values, distinct, errors)
        # mostly distinct values: a shortcut settles the plain ones, the cleaner the rest
        # (a blank among them included: None is a blank line's)
        out = bulk([value or "" for value in values] if None in distinct else values)
        if None in out:
            undecided = list(compress(range(len(values)), map(is_, out, repeat(None))))
            memo = {values[index]: cleaner(values[index]) for index in undecided}
            for index in undecided:
                result = memo[values[index]]
                if type(result) is Rejection:
                    errors.setdefault(index, []).append(result.error)
                    result = None
                out[index] = result
        return out


def memoized(cleaner, values: Sequence, distinct: set, errors: dict[int, list[Error]]) -> list:
    """The clean values of a column, its cleaner run once per distinct value."""
    memo = {value: cleaner(value) for value in distinct}
    bad = {value for value, result in memo.items() if type(result) is Rejection}
    if bad:
        for index in [index for index, value in enumerate(values) if value in bad]:
            errors.setdefault(index, []).append(memo[values[index]].error)
        for value in bad:
            memo[value] = None
    return list(map(memo.__getitem__, values))


def stringify(value: object) -> str | None:
    return None if value is None else str(value)
