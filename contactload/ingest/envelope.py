"""Whole-request checks (CONTRACT 2.3), pure: parsed body in, Envelope out, or one
UploadError raised. The order of the checks is the contract's order; the campaign
lookup and permission check (rows 6-7) sit between ``check_structure`` and
``check_rows`` and are done by the caller."""

from dataclasses import dataclass
from itertools import repeat

import orjson

from contactload import errors
from contactload.ingest.campaign import CampaignRules

ACTIONS = ("insert", "update")


@dataclass(frozen=True, slots=True)
class Envelope:
    campaign: str
    action: str
    reference: str  # "" for inserts
    rows: list[dict]
    callback_url: str = ""


def parse_json(body: bytes) -> object:
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise errors.InvalidJson(str(exc)) from None


def check_structure(data: object) -> Envelope:
    """Rows 2-5 of CONTRACT 2.3."""
    if not isinstance(data, dict):
        raise errors.InvalidStructure()
    campaign, rows = data.get("campaign"), data.get("bulk_data")
    if not isinstance(campaign, str) or not campaign.strip():
        raise errors.InvalidStructure()
    if not isinstance(rows, list) or not rows or not all(map(isinstance, rows, repeat(dict))):
        raise errors.InvalidStructure()
    callback_url = data.get("callback_url")
    if not isinstance(callback_url, str | None):
        raise errors.InvalidStructure()
    action, reference = check_action(data)
    return Envelope(campaign.strip(), action, reference, rows, callback_url or "")


def check_action(data: dict) -> tuple[str, str]:
    """Rows 3-5 of CONTRACT 2.3: the action and its reference field ("" for inserts)."""
    action = data.get("action_type", "insert")
    if action not in ACTIONS:
        raise errors.InvalidActionType(action)
    if action == "insert" and "reference_field" in data:
        raise errors.InsertWithReference()
    reference = data.get("reference_field") if action == "update" else ""
    if action == "update" and (not isinstance(reference, str) or not reference):
        raise errors.ReferenceMissing()
    return action, reference


def check_fields(fields) -> Envelope:
    """Rows 2-5 for a CSV upload, whose options come as form fields or query
    parameters; blank options count as absent (forms send every field)."""
    options = {key: fields.get(key) for key in fields if fields.get(key)}
    campaign = (options.get("campaign") or "").strip()
    if not campaign:
        raise errors.InvalidStructure()
    action, reference = check_action(options)
    return Envelope(campaign, action, reference, [], options.get("callback_url", ""))


def check_csv_headers(headers: list[str], envelope: Envelope, rules: CampaignRules) -> None:
    """Rows 8-11 for a CSV header line (its rows are uniform by construction)."""
    if envelope.action == "update" and envelope.reference not in headers:
        raise errors.ReferenceMissingInRows(envelope.reference)
    if len(set(headers)) != len(headers):
        raise errors.HeadersMismatch()
    check_headers(headers, rules, envelope.action, envelope.reference)


def check_rows(envelope: Envelope, rules: CampaignRules, *, max_rows: int) -> tuple[str, ...]:
    """Rows 8-12 of CONTRACT 2.3; returns the upload's headers in the order sent."""
    rows, reference = envelope.rows, envelope.reference
    if envelope.action == "update" and not all(reference in row for row in rows):
        raise errors.ReferenceMissingInRows(reference)
    headers = rows[0].keys()
    if not all(map(headers.__eq__, map(dict.keys, rows))):
        raise errors.NotUniform()
    check_headers(headers, rules, envelope.action, reference)
    if len(rows) > max_rows:
        raise errors.TooManyRows(len(rows), max_rows)
    return tuple(headers)


def check_headers(headers, rules: CampaignRules, action: str, reference: str) -> None:
    """Rows 10-11 of CONTRACT 2.3 (shared with CSV uploads, whose rows are uniform)."""
    accepted = set(rules.accepted_headers(action))
    if not set(headers) <= accepted:
        raise errors.HeadersMismatch()
    if action == "insert" and "numeric" not in headers:
        raise errors.HeadersMismatch()
    if action == "update":
        if not rules.is_reference(reference):
            raise errors.HeadersMismatch()
        if set(headers) == {reference}:
            raise errors.NothingToUpdate()
