"""Inserting a chunk (CONTRACT 3.1): the per-row rules column by column (``prepare``,
pure, so it can run in a thread ahead of the writes), then the chunk's lookups
(``check``), then one write of every good row. ``write`` raises IntegrityError when
a concurrent job stored one of the numbers first; the caller checks the chunk again."""

from collections import deque
from dataclasses import dataclass, field
from itertools import compress, repeat

import orjson
from django.db import connection
from django.utils import timezone

from contactload.ingest import lookups, payload, results, writers
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
    results: object  # the rejected rows as ``results.encoded`` made them
    # what ``plan.write`` writes: an insert's contacts as ``writers.encode_contacts``
    # made them, an update's rows
    contacts: object
    # the numbers and unique values it stores (inserts)
    accepted: tuple[set, set] = field(default_factory=lambda: (set(), set()))
    # (campaign id, phonebook id) of the upload it belongs to (inserts)
    owner: tuple = ()


class InsertPlan:
    outcome = "inserted"
    looks_ahead = True  # ``check`` may run before the chunk before it is committed

    def __init__(self, ctx: lookups.JobContext, job: UploadJob):
        self.ctx, self.job = ctx, job
        self.owner = (ctx.rules.id, ctx.phonebook_id)
        self.checker = ColumnChecker(
            ctx.rules, job.headers, text_only=job.source == UploadJob.Source.CSV
        )
        self.crm_pieces, self.crm_headers = crm_layout(ctx, job.headers)
        # A run from the first row knows every value it stores, and then looks up only
        # the values that may clash (``lookups.suspects``) while no chunk meets another
        # upload's contacts; a resumed run cannot know what the runs before it stored.
        self.seen = Seen() if job.processed == 0 else None
        self.trusting = self.seen is not None
        self.first = True  # the next ``check`` is the run's first
        # what committed chunks stored, for ``check`` to file into ``seen`` (off the
        # writing thread); a deque: appended and popped in different threads
        self.unfiled: deque[tuple[set, set]] = deque()

    def prepare(self, first_row: int, data: bytes) -> CheckedChunk:
        """The per-row rules, and every row's contact as it would be written (pure)."""
        chunk = self.checker.check(payload.unpack(data, self.job.headers), first_row)
        chunk.contacts = self.contact_columns(chunk)
        return chunk

    def check(self, chunk: CheckedChunk, earlier=None) -> Checked:
        """The chunk's lookups; ``earlier``, when given (a ``Checked``, or the
        pipeline's ``Carried``: ``owner`` and ``accepted``), is what the chunks written
        before it store, which counts as stored (by this upload, or by the one a worker
        ran before it, as ``owner`` tells) though it may not be committed yet."""
        while self.unfiled:
            self.seen.add(*self.unfiled.popleft())
        mine = before = None
        if earlier is not None and earlier.owner == self.owner:
            mine = earlier.accepted
        elif earlier is not None and earlier.owner[:1] == self.owner[:1]:  # same campaign
            before = earlier.accepted
        if self.first:
            # In a campaign that holds contacts already, the first chunk looks every value
            # up (a lead sent again is usual): trusting, it would be written, meet the
            # unique index, be rolled back and checked again, and the chunk after it too.
            # (So does one that follows another upload's chunks, maybe not committed.)
            self.first = False
            self.trusting = (
                self.trusting and before is None and not lookups.campaign_holds_contacts(self.ctx)
            )
        seen = self.seen if self.trusting else None
        errors, elsewhere = lookups.check_columns(self.ctx, chunk, mine, seen, before)
        # Values of other uploads about: look every value up until a chunk meets none.
        self.trusting = self.seen is not None and not elsewhere
        good = [i not in errors for i in range(chunk.size)]
        numbers = set(compress(chunk.numeric, good))
        ids = set() if chunk.uniqueid is None else set(compress(chunk.uniqueid, good))
        ids.discard(None)
        contacts = chunk.contacts
        if errors:
            contacts = [list(compress(column, good)) for column in contacts]
        rejected = chunk.rejected(errors)
        return Checked(
            chunk.size,
            rejected,
            results.encoded(self.job, rejected),
            writers.encode_contacts(contacts),
            (numbers, ids),
            self.owner,
        )

    def write(self, checked: Checked) -> None:
        writers.insert_contacts(checked.contacts)

    def lost_race(self) -> None:
        """The write met a value stored elsewhere: the chunk is checked again in full."""
        self.trusting = False

    def committed(self, checked: Checked) -> None:
        """Called once the chunk is committed: the next ``check`` to start files what it
        stored (one running meanwhile has it as ``earlier``)."""
        if self.seen is not None:
            self.unfiled.append(checked.accepted)

    def contact_columns(self, chunk: CheckedChunk) -> list[list]:
        """Every row's contact, a column per ``writers.CONTACT_COLUMNS``, JSON columns as
        text (a rejected row's is never written)."""
        # as text: the database reads it as fast, and the client needs not format it per row
        now = str(connection.ops.adapt_datetimefield_value(timezone.now()))
        ctx, size = self.ctx, chunk.size

        def sent(header: str, absent=None) -> list:
            values = chunk.clean.get(header)
            return [absent] * size if values is None else values

        numeric, users, alt = chunk.numeric, chunk.user, chunk.clean.get("alt_numeric")
        return [
            [ctx.rules.id] * size,
            [ctx.phonebook_id] * size,
            numeric,
            numeric if ctx.rules.rejects_duplicates else [None] * size,
            [None] * size if users is None else list(map(ctx.agents.get, users)),
            sent("first_name"),
            sent("last_name"),
            sent("email"),
            sent("priority"),
            ["{}"] * size
            if alt is None
            else [orjson.dumps(a).decode() if a else "{}" for a in alt],
            [CONTACT_STATUS] * size,
            [None] * size if chunk.uniqueid is None else chunk.uniqueid,
            self.crm_json([chunk.clean[header] for header in self.crm_headers], size),
            [now] * size,
            [now] * size,
        ]

    def crm_json(self, columns: list[list], size: int) -> list[str]:
        """``customer_raw_data`` of each row as JSON text: the campaign's fixed object
        layout with each row's values (as ``json_texts`` gives them) set in, by C-level
        joins."""
        pieces = self.crm_pieces
        if not columns:
            return ["".join(pieces)] * size
        parts: list = [repeat(pieces[0])]
        for values, piece in zip(columns, pieces[1:], strict=True):
            parts += [json_texts(values), repeat(piece)]
        return list(map("".join, zip(*parts, strict=False)))  # (the pieces repeat)


NUMBERS = {int, float, type(None)}


def json_texts(values: list) -> list[str]:
    """Each value as orjson writes it, for a column at a time: numbers by one call for
    the column, a repeated value once, plain text quoted without a call."""
    kinds = set(map(type, values))
    if values and kinds <= NUMBERS:  # (no number's text holds a comma)
        return orjson.dumps(values).decode()[1:-1].split(",")
    if float not in kinds:  # (0.0 == -0.0: no memo)
        distinct = set(values)
        if 4 * len(distinct) <= len(values):
            texts = {value: orjson.dumps(value).decode() for value in distinct}
            return list(map(texts.__getitem__, values))
    if kinds == {str}:
        joined = "".join(values)
        # what orjson would escape: quotes, backslashes, control characters
        if joined.isprintable() and '"' not in joined and "\\" not in joined:
            return list(map('"{}"'.format, values))
    return [orjson.dumps(value).decode() for value in values]


def crm_layout(ctx: lookups.JobContext, headers) -> tuple[list[str], list[str]]:
    """The layout of ``customer_raw_data`` (``{section: {name: value}}`` for every CRM
    field of the campaign, sections in the order they first appear) as the JSON text
    around one slot per CRM header the upload sends (one piece more than slots), and
    those headers in slot order; fields not sent are null."""
    sections: dict[str, list] = {}
    for rule in ctx.rules.fields:
        sections.setdefault(rule.section, []).append(rule)
    sent, slots, pieces = set(headers), [], []
    text = "{"
    for index, (section, rules) in enumerate(sections.items()):
        text += ("," if index else "") + orjson.dumps(section).decode() + ":{"
        for position, rule in enumerate(rules):
            text += ("," if position else "") + orjson.dumps(rule.name).decode() + ":"
            if rule.header in sent:
                pieces.append(text)
                slots.append(rule.header)
                text = ""
            else:
                text += "null"
        text += "}"
    pieces.append(text + "}")
    return pieces, slots
