"""Updating a chunk (CONTRACT 3.2): find the campaign's contacts by the reference
field with one query, apply the value checks of an insert to the keys a row
carries, and change only those keys on every matching contact. Rows that match
nothing are rejected, never inserted."""

from collections.abc import Iterable
from typing import NamedTuple

import orjson
from django.db import connection
from django.utils import timezone

from contactload.ingest import lookups, payload, results, writers
from contactload.ingest.insert import Checked
from contactload.ingest.lookups import DNC_CAMPAIGN, DNC_GLOBAL, in_campaign, in_file
from contactload.ingest.phones import canonical
from contactload.ingest.rows import NOT_TEXT, CheckedRow, RowChecker, crm_value, text
from contactload.models import Contact, UploadJob

PLAIN_COLUMNS = ("first_name", "last_name", "email", "priority")


class StoredRows(NamedTuple):
    first: int  # 0-based position of the first row in the upload
    rows: list[dict]


def repeated_positions(rows: Iterable[dict], keys) -> list[set[int]]:
    """For each key function, the 1-based positions of rows whose key (when not
    None) an earlier row already had. One pass over ``rows``."""
    seen = [set() for _ in keys]
    repeated = [set() for _ in keys]
    for position, raw in enumerate(rows, start=1):
        for key, seen_values, repeats in zip(keys, seen, repeated, strict=True):
            value = key(raw)
            if value is None:
                continue
            if value in seen_values:
                repeats.add(position)
            seen_values.add(value)
    return repeated


class UpdatePlan:
    outcome = "updated"

    def __init__(self, ctx: lookups.JobContext, job: UploadJob):
        rules, reference = ctx.rules, job.reference_field
        self.ctx, self.job, self.reference, self.headers = ctx, job, reference, set(job.headers)
        self.checker = RowChecker(rules, reference=reference)
        self.ref_rule = self.checker.fields.get(reference)  # None for "numeric"
        unique = rules.unique_field
        self.unique = unique if unique and unique.header in self.headers else None
        self.changes_number = "numeric" in self.headers and reference != "numeric"
        self.changes_unique = self.unique is not None and self.unique.header != reference

        # Repeats are judged over the whole upload, so that a resumed job judges alike.
        def key(header: str | None):
            return (lambda raw: self.normal(header, raw)) if header else (lambda raw: None)

        self.repeated_refs, self.repeated_numbers, self.repeated_uniques = repeated_positions(
            payload.all_rows(job),
            [
                key(reference),
                key("numeric" if self.changes_number else None),
                key(self.unique.header if self.changes_unique else None),
            ],
        )
        self.columns = self.changed_columns()

    def normal(self, header: str, raw: dict) -> object:
        """A value as it is stored and compared, or None when blank or invalid."""
        value = text(raw.get(header))
        if value is None or value is NOT_TEXT:
            return None
        if header == "numeric":
            return canonical(value, self.ctx.rules.country)
        rule = self.checker.fields[header]
        clean, _error = crm_value(rule, value, self.ctx.rules.country)
        return None if clean is None else str(clean) if rule.unique else clean

    def changed_columns(self) -> tuple[str, ...]:
        columns = ["user_id"] if "user" in self.headers else []
        columns += [c for c in PLAIN_COLUMNS if c in self.headers]
        if "alt_numeric" in self.headers:
            columns.append("alt_numeric")
        if self.changes_number:
            columns += ["numeric", "dedupe_key"]
        if any(header in self.checker.fields for header in self.headers):
            columns.append("customer_raw_data")
        if self.changes_unique:
            columns.append("uniqueid")
        return (*columns, "updated_at")

    def ref_value(self, row: CheckedRow) -> object:
        if self.reference == "numeric":
            return row.numeric
        value = row.crm.get(self.ref_rule.section, {}).get(self.ref_rule.name)
        return None if value is None else str(value) if self.ref_rule.unique else value

    def matches(self, values: set) -> dict[object, list[tuple]]:
        """Reference value -> [(id, numeric, uniqueid, customer_raw_data)] in the campaign."""
        contacts = Contact.objects.filter(campaign_id=self.ctx.rules.id)
        if self.reference == "numeric":
            contacts, key = contacts.filter(numeric__in=values), lambda c: c[1]
        elif self.ref_rule.unique:
            contacts, key = contacts.filter(uniqueid__in=values), lambda c: c[2]
        else:
            section, name = self.ref_rule.section, self.ref_rule.name
            contacts = contacts.filter(**{f"customer_raw_data__{section}__{name}__in": values})
            key = lambda c: c[3].get(section, {}).get(name)  # noqa: E731
        found: dict[object, list[tuple]] = {}
        for contact in contacts.values_list("id", "numeric", "uniqueid", "customer_raw_data"):
            found.setdefault(key(contact), []).append(contact)
        return found

    def prepare(self, first_row: int, data: bytes) -> StoredRows:
        headers = list(self.job.headers)
        return StoredRows(first_row, payload.unpack(data, headers).dicts(headers))

    def check(self, prepared: StoredRows) -> Checked:
        first = prepared.first
        rows = [self.checker.check(raw, first + i) for i, raw in enumerate(prepared.rows, start=1)]
        lookups.check_users(self.ctx, rows)
        refs = {self.ref_value(row) for row in rows} - {None}
        found = self.matches(refs) if refs else {}
        campaign = self.ctx.rules.name
        numbers_taken, blocked_global, blocked_here = self.number_facts(rows)
        ids_taken = (
            self.owners("uniqueid", {r.uniqueid for r in rows}) if self.changes_unique else {}
        )
        pending = []
        self.stamp = connection.ops.adapt_datetimefield_value(timezone.now())
        for row in rows:
            ref = self.ref_value(row)
            if row.row in self.repeated_refs:
                row.reject(*in_file(self.reference))
            elif ref is not None and ref not in found:
                row.reject(
                    self.reference,
                    "reference_not_found",
                    f"the {self.reference} is not exist in campaign, please insert first",
                )
            contacts = found.get(ref, [])
            ids = {contact[0] for contact in contacts}
            if self.changes_number and row.numeric is not None:
                if row.numeric in blocked_global:
                    row.reject(*DNC_GLOBAL)
                if row.numeric in blocked_here:
                    row.reject(*DNC_CAMPAIGN)
                if row.row in self.repeated_numbers:
                    row.reject(*in_file("numeric"))
                elif self.ctx.rules.rejects_duplicates and (
                    numbers_taken.get(row.numeric, ids) - ids or len(ids) > 1
                ):
                    row.reject(*in_campaign("numeric", campaign))
            if self.changes_unique and row.uniqueid is not None:
                header = self.unique.header
                if row.row in self.repeated_uniques:
                    row.reject(*in_file(header))
                elif ids_taken.get(row.uniqueid, ids) - ids or len(ids) > 1:
                    row.reject(*in_campaign(header, campaign))
            if row.ok:
                pending += [self.changed(row, contact) for contact in contacts]
        rejected = [row for row in rows if not row.ok]
        return Checked(len(rows), rejected, results.encoded(self.job, rejected), pending)

    def number_facts(self, rows: list[CheckedRow]):
        if not self.changes_number:
            return {}, set(), set()
        numbers = {row.numeric for row in rows} - {None}
        return (
            self.owners("numeric", numbers),
            *lookups.blocked_numbers(self.ctx.rules.id, numbers),
        )

    def owners(self, column: str, values: set) -> dict[str, set[int]]:
        """value -> ids of the campaign's contacts that hold it."""
        owners: dict[str, set[int]] = {}
        found = Contact.objects.filter(
            campaign_id=self.ctx.rules.id, **{f"{column}__in": values - {None}}
        ).values_list(column, "id")
        for value, contact_id in found:
            owners.setdefault(value, set()).add(contact_id)
        return owners

    def changed(self, row: CheckedRow, contact: tuple) -> tuple:
        contact_id, _numeric, _uniqueid, data = contact
        values = {
            "user_id": self.ctx.agents.get(row.user),
            "alt_numeric": orjson.dumps(row.values.get("alt_numeric") or {}).decode(),
            "numeric": row.numeric,
            "dedupe_key": row.numeric if self.ctx.rules.rejects_duplicates else None,
            "uniqueid": row.uniqueid,
            "updated_at": self.stamp,
            **{column: row.values.get(column) for column in PLAIN_COLUMNS},
        }
        if "customer_raw_data" in self.columns:
            merged = {section: dict(fields) for section, fields in data.items()}
            for section, fields in row.crm.items():
                merged.setdefault(section, {}).update(fields)
            values["customer_raw_data"] = orjson.dumps(merged).decode()
        return (contact_id, *(values[column] for column in self.columns))

    def write(self, checked: Checked) -> None:
        writers.update_contacts(self.columns, checked.contacts)

    def lost_race(self) -> None:
        """Nothing to forget: every chunk of an update is looked up in full."""

    def committed(self, checked: Checked) -> None:
        """Nothing to remember across chunks."""
