"""Inserting a chunk (CONTRACT 3.1): the per-row rules column by column (``prepare``,
pure, so it can run in a thread ahead of the writes), then the chunk's lookups
(``check``), then one write of every good row. ``write`` raises IntegrityError when
a concurrent job stored one of the numbers first; the caller checks the chunk again."""

from dataclasses import dataclass
from itertools import compress, repeat

import orjson
from django.db import connection
from django.utils import timezone

from contactload.ingest import lookups, payload, writers
from contactload.ingest.columns import CheckedChunk, ColumnChecker
from contactload.ingest.rows import CheckedRow
from contactload.models import UploadJob

CONTACT_STATUS = "NotDialed"


@dataclass(slots=True)
class Checked:
    """A chunk after every check: its size, its rejected rows, and what to write."""

    size: int
    rejected: list[CheckedRow]
    contacts: list[tuple]


class InsertPlan:
    outcome = "inserted"

    def __init__(self, ctx: lookups.JobContext, job: UploadJob):
        self.ctx, self.job = ctx, job
        self.checker = ColumnChecker(ctx.rules, job.headers)
        self.crm_template, self.crm_headers = crm_template(ctx, job.headers)

    def prepare(self, first_row: int, data: bytes) -> CheckedChunk:
        cells = payload.as_cells(self.job, payload.unpack(data))
        return self.checker.check(cells, first_row)

    def check(self, chunk: CheckedChunk) -> Checked:
        errors = lookups.check_columns(self.ctx, chunk)
        return Checked(chunk.size, chunk.rejected(errors), self.contact_tuples(chunk, errors))

    def write(self, checked: Checked) -> None:
        writers.insert_contacts(checked.contacts)

    def contact_tuples(self, chunk: CheckedChunk, errors: dict) -> list[tuple]:
        """The good rows as tuples in ``writers.CONTACT_COLUMNS`` order, built column by
        column (JSON columns as text)."""
        now = connection.ops.adapt_datetimefield_value(timezone.now())
        ctx = self.ctx
        good = [index not in errors for index in range(chunk.size)] if errors else None

        def column(values):
            if values is None:
                return None
            return list(compress(values, good)) if good is not None else values

        def sent(header: str, absent=None):
            values = column(chunk.clean.get(header))
            return repeat(absent) if values is None else values

        numeric = column(chunk.numeric)
        users = column(chunk.user)
        alt = column(chunk.clean.get("alt_numeric"))
        return list(
            zip(
                repeat(ctx.rules.id),
                repeat(ctx.phonebook_id),
                numeric,
                numeric if ctx.rules.rejects_duplicates else repeat(None),
                repeat(None) if users is None else map(ctx.agents.get, users),
                sent("first_name"),
                sent("last_name"),
                sent("email"),
                sent("priority"),
                repeat("{}") if alt is None else [orjson.dumps(a).decode() for a in alt],
                repeat(CONTACT_STATUS),
                repeat(None) if chunk.uniqueid is None else column(chunk.uniqueid),
                self.crm_json([column(chunk.clean[header]) for header in self.crm_headers]),
                repeat(now),
                repeat(now),
            )
        )

    def crm_json(self, columns: list[list]) -> list[str] | repeat:
        """``customer_raw_data`` of each row as JSON text: every value encoded by orjson
        once per distinct value, set into the campaign's fixed object layout."""
        if not columns:
            return repeat(self.crm_template)
        encoded = []
        for values in columns:
            memo = {value: orjson.dumps(value).decode() for value in set(values)}
            encoded.append(map(memo.__getitem__, values))
        template = self.crm_template
        return [template % values for values in zip(*encoded, strict=True)]


def crm_template(ctx: lookups.JobContext, headers) -> tuple[str, list[str]]:
    """The layout of ``customer_raw_data`` (``{section: {name: value}}`` for every CRM
    field of the campaign, in order) as a %-template with one slot per CRM header the
    upload sends (in that order), and those headers; fields not sent are null."""
    sections: dict[str, list[str]] = {}
    slots = []
    sent = set(headers)
    for rule in ctx.rules.fields:
        key = orjson.dumps(rule.name).decode().replace("%", "%%")
        if rule.header in sent:
            sections.setdefault(rule.section, []).append(f"{key}:%s")
            slots.append(rule.header)
        else:
            sections.setdefault(rule.section, []).append(f"{key}:null")
    body = ",".join(
        orjson.dumps(section).decode().replace("%", "%%") + ":{" + ",".join(fields) + "}"
        for section, fields in sections.items()
    )
    return "{" + body + "}", slots
