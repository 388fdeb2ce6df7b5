"""Inserting a chunk (CONTRACT 3.1): per-row rules, then the chunk's lookups, then
one write of every good row. ``write`` raises IntegrityError when a concurrent
job stored one of the numbers first; the caller checks the chunk again."""

import orjson
from django.db import connection
from django.utils import timezone

from contactload.ingest import lookups, writers
from contactload.ingest.rows import CheckedRow, RowChecker


class InsertPlan:
    outcome = "inserted"

    def __init__(self, ctx: lookups.JobContext):
        self.ctx = ctx
        self.checker = RowChecker(ctx.rules)

    def check(self, raw_rows: list[dict], offset: int) -> list[CheckedRow]:
        rows = [self.checker.check(raw, offset + i) for i, raw in enumerate(raw_rows, start=1)]
        lookups.check_chunk(self.ctx, rows)
        return rows

    def write(self, rows: list[CheckedRow]) -> None:
        writers.insert_contacts(self.contact_tuples(rows))

    def contact_tuples(self, rows: list[CheckedRow]) -> list[tuple]:
        now = connection.ops.adapt_datetimefield_value(timezone.now())
        ctx = self.ctx
        dedupe = ctx.rules.rejects_duplicates
        campaign_id, phonebook_id, agents = ctx.rules.id, ctx.phonebook_id, ctx.agents
        return [
            (
                campaign_id,
                phonebook_id,
                row.numeric,
                row.numeric if dedupe else None,
                agents.get(row.user),
                row.values.get("first_name"),
                row.values.get("last_name"),
                row.values.get("email"),
                row.values.get("priority"),
                orjson.dumps(row.values.get("alt_numeric") or {}).decode(),
                "NotDialed",
                row.uniqueid,
                orjson.dumps(row.crm).decode(),
                now,
                now,
            )
            for row in rows
            if row.ok
        ]
