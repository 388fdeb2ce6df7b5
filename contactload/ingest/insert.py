"""Inserting a chunk (CONTRACT 3.1): the per-row rules column by column (``prepare``,
pure, so it can run in a thread ahead of the writes), then the chunk's lookups
(``check``), then one write of every good row. ``write`` raises IntegrityError when
a concurrent job stored one of the numbers first; the caller checks the chunk again."""

from dataclasses import dataclass, field
from itertools import compress, repeat

import orjson
from django.db import connection
from django.utils import timezone

from contactload.ingest import lookups, payload, writers
from contactload.ingest.columns import CheckedChunk, ColumnChecker
from contactload.ingest.rows import CheckedRow
from contactload.ingest.seen import Seen
from contactload.models import UploadJob

CONTACT_STATUS = "NotDialed"


@dataclass(slots=True)
class Checked:
    """A chunk after every check: its size, its rejected rows, and what to write."""

    size: int
    rejected: list[CheckedRow]
    contacts: list[tuple]
    # the numbers and unique values it stores (inserts)
    accepted: tuple[set, set] = field(default_factory=lambda: (set(), set()))


class InsertPlan:
    outcome = "inserted"
    looks_ahead = True  # ``check`` may run before the chunk before it is committed

    def __init__(self, ctx: lookups.JobContext, job: UploadJob):
        self.ctx, self.job = ctx, job
        self.checker = ColumnChecker(
            ctx.rules, job.headers, text_only=job.source == UploadJob.Source.CSV
        )
        self.crm_template, self.crm_headers = crm_template(ctx, job.headers)
        # A run from the first row knows every value it stores, and then looks up only
        # the values that may clash (``lookups.suspects``) while no chunk meets another
        # upload's contacts; a resumed run cannot know what the runs before it stored.
        self.seen = Seen() if job.processed == 0 else None
        self.trusting = self.seen is not None

    def prepare(self, first_row: int, data: bytes) -> CheckedChunk:
        """The per-row rules, and every row's contact as it would be written (pure)."""
        cells = payload.as_cells(self.job, payload.unpack(data))
        chunk = self.checker.check(cells, first_row)
        chunk.contacts = self.contact_tuples(chunk)
        return chunk

    def check(self, chunk: CheckedChunk, earlier: Checked | None = None) -> Checked:
        """The chunk's lookups; ``earlier``, when given, is the chunk before it, which
        counts as stored by this upload though it may not be committed yet."""
        seen = self.seen if self.trusting else None
        errors, elsewhere = lookups.check_columns(
            self.ctx, chunk, earlier.accepted if earlier else None, seen
        )
        # Values of other uploads about: look every value up until a chunk meets none.
        self.trusting = self.seen is not None and not elsewhere
        good = [i not in errors for i in range(chunk.size)]
        numbers = set(compress(chunk.numeric, good))
        ids = set() if chunk.uniqueid is None else set(compress(chunk.uniqueid, good))
        ids.discard(None)
        contacts = list(compress(chunk.contacts, good)) if errors else chunk.contacts
        return Checked(chunk.size, chunk.rejected(errors), contacts, (numbers, ids))

    def write(self, checked: Checked) -> None:
        writers.insert_contacts(checked.contacts)

    def lost_race(self) -> None:
        """The write met a value stored elsewhere: the chunk is checked again in full."""
        self.trusting = False

    def committed(self, checked: Checked) -> None:
        if self.seen is not None:
            self.seen.add(*checked.accepted)

    def contact_tuples(self, chunk: CheckedChunk) -> list[tuple]:
        """Each row's contact as a tuple in ``writers.CONTACT_COLUMNS`` order, built
        column by column, JSON columns as text (a rejected row's is never written)."""
        # as text: the database reads it as fast, and the client needs not format it per row
        now = str(connection.ops.adapt_datetimefield_value(timezone.now()))
        ctx = self.ctx

        def sent(header: str, absent=None):
            values = chunk.clean.get(header)
            return repeat(absent) if values is None else values

        numeric, users, alt = chunk.numeric, chunk.user, chunk.clean.get("alt_numeric")
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
                repeat("{}")
                if alt is None
                else [orjson.dumps(a).decode() if a else "{}" for a in alt],
                repeat(CONTACT_STATUS),
                repeat(None) if chunk.uniqueid is None else chunk.uniqueid,
                self.crm_json([chunk.clean[header] for header in self.crm_headers]),
                repeat(now),
                repeat(now),
            )
        )

    def crm_json(self, columns: list[list]) -> list[str] | repeat:
        """``customer_raw_data`` of each row as JSON text: every value encoded by orjson
        once per distinct value, set into the campaign's fixed object layout."""
        if not columns:
            return repeat(self.crm_template % ())
        encoded = []
        for values in columns:
            if any(type(value) is float for value in values):  # 0.0 == -0.0: no memo
                encoded.append([orjson.dumps(value).decode() for value in values])
                continue
            memo = {value: orjson.dumps(value).decode() for value in set(values)}
            encoded.append(map(memo.__getitem__, values))
        template = self.crm_template
        return [template % values for values in zip(*encoded, strict=True)]


def crm_template(ctx: lookups.JobContext, headers) -> tuple[str, list[str]]:
    """The layout of ``customer_raw_data`` (``{section: {name: value}}`` for every CRM
    field of the campaign, sections in the order they first appear) as a %-template
    with one slot per CRM header the upload sends, and those headers in slot order;
    fields not sent are null."""
    sections: dict[str, list] = {}
    for rule in ctx.rules.fields:
        sections.setdefault(rule.section, []).append(rule)
    sent, slots, parts = set(headers), [], []
    for section, rules in sections.items():
        fields = []
        for rule in rules:
            key = orjson.dumps(rule.name).decode().replace("%", "%%")
            fields.append(f"{key}:%s" if rule.header in sent else f"{key}:null")
            if rule.header in sent:
                slots.append(rule.header)
        parts.append(
            orjson.dumps(section).decode().replace("%", "%%") + ":{" + ",".join(fields) + "}"
        )
    return "{" + ",".join(parts) + "}", slots
