"""Per-row rules (CONTRACT 3.1), pure: a row as sent in, a CheckedRow out; never
raises on bad data. Checks that need the database (users, DNC, duplicates) are
added by ``run`` from set lookups; every message of a row is kept."""

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from contactload.ingest.campaign import CampaignRules, FieldRule
from contactload.ingest.phones import canonical

WHOLE = re.compile(r"[+-]?\d+")
DECIMAL = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")
INT32 = (-(2**31), 2**31 - 1)
MAX_ALT_NUMBERS = 3
# No value is stored longer than this, whatever its field's size (a CRM field without
# a size would otherwise take a 10 MB value into every contact).
MAX_VALUE_CHARS = 10_000
NOT_TEXT = object()  # a value that is an object, an array or a boolean

DATE_FORMATS = ("%Y-%m-%d", "%d-%m-%Y", "%d/%m/%Y", "%Y/%m/%d")
TIME_FORMATS = ("%H:%M:%S", "%H:%M")
DATETIME_FORMATS = tuple(
    f"{date}{sep}{time}" for date in DATE_FORMATS for sep in (" ", "T") for time in TIME_FORMATS
)
# Flexydial's words for the types, as its messages use them.
TYPE_WORDS = {"date": "datefield", "datetime": "datetimefield", "time": "timefield"}

Error = tuple[str, str, str]  # header, code, message


@dataclass(slots=True)
class CheckedRow:
    row: int  # 1-based position in the upload
    raw: Mapping
    errors: list[Error] = field(default_factory=list)
    numeric: str | None = None  # canonical
    user: str | None = None  # username as sent
    values: dict = field(default_factory=dict)  # contact columns other than the above
    crm: dict = field(default_factory=dict)  # {section: {field: value}}
    uniqueid: str | None = None

    @property
    def ok(self) -> bool:
        return not self.errors

    def reject(self, header: str, code: str, message: str) -> None:
        self.errors.append((header, code, message))


def text(value: object) -> object:
    """A value as stripped text, None when blank, NOT_TEXT when not a scalar."""
    if value is None:
        return None
    if isinstance(value, str):
        if "\x00" in value:
            return NOT_TEXT
        return value.strip() or None
    if isinstance(value, bool) or not isinstance(value, int | float):
        return NOT_TEXT
    if isinstance(value, float):
        if not math.isfinite(value):
            return NOT_TEXT
        if value.is_integer():
            return str(int(value))
    return str(value)


def parse_with(formats: tuple[str, ...], value: str, out: str) -> str | None:
    for fmt in formats:
        try:
            return datetime.strptime(value, fmt).strftime(out)
        except ValueError:
            continue
    return None


def is_email(value: str) -> bool:
    try:
        validate_email(value)
    except ValidationError:
        return False
    return True


def crm_value(rule: FieldRule, value: str, country: str) -> tuple[object, Error | None]:
    """The stored form of a CRM value, or the error it earns."""
    if rule.size is not None and len(value) > rule.size:
        return None, (rule.header, "too_long", f"Expected length is {rule.size}")
    kind, clean = rule.type, value
    if kind == "integer":
        clean = int(value) if WHOLE.fullmatch(value) else None
    elif kind == "float":
        clean = float(value) if DECIMAL.fullmatch(value) else None
        if clean is not None and not math.isfinite(clean):
            clean = None
    elif kind == "date":
        clean = parse_with(DATE_FORMATS, value, "%Y-%m-%d")
    elif kind == "datetime":
        clean = parse_with(DATETIME_FORMATS, value, "%Y-%m-%d %H:%M:%S")
    elif kind == "time":
        clean = parse_with(TIME_FORMATS, value, "%H:%M:%S")
    elif kind == "email":
        clean = value if is_email(value) else None
    elif kind == "phone":
        clean = canonical(value, country)
    elif kind == "choice":
        options = {choice.casefold(): choice for choice in rule.choices}
        clean = options.get(value.casefold())
        if clean is None:
            return None, (
                rule.header,
                "invalid_choice",
                f"Expected one of {', '.join(rule.choices)}",
            )
    if clean is None:
        word = TYPE_WORDS.get(kind, kind)
        return None, (rule.header, "invalid_type", f"Expected  {value} in {word} format")
    return clean, None


def alt_numbers(value: str, country: str) -> tuple[dict, Error | None]:
    parts = [part.strip() for part in value.split(",") if part.strip()]
    if len(parts) > MAX_ALT_NUMBERS:
        return {}, (
            "alt_numeric",
            "too_many_alt_numbers",
            "More than 3 alternate numbers are not allowed",
        )
    numbers = {}
    for position, part in enumerate(parts, start=1):
        label, _, number = part.rpartition(":")
        canon = canonical(number, country)
        if canon is None:
            return {}, ("alt_numeric", "invalid_alt_number", "Enter Valid alternate number")
        numbers[label.strip() or f"alt_numeric_{position}"] = canon
    return numbers, None


class RowChecker:
    """Checks the rows of one job; built once per job. For an insert (no
    ``reference``) ``crm`` holds every CRM field of the campaign; for an update it
    holds only the fields the row carries, so that only those change."""

    def __init__(self, rules: CampaignRules, reference: str = ""):
        self.rules = rules
        self.country = rules.country
        self.reference = reference
        self.fields = {rule.header: rule for rule in rules.fields}
        self.blank_crm: dict[str, dict] = {}
        if not reference:
            for rule in rules.fields:
                self.blank_crm.setdefault(rule.section, {})[rule.name] = None
        self.standard: dict[str, Callable[[CheckedRow, str, str | None], None]] = {
            "numeric": self.check_numeric,
            "user": self.check_user,
            "first_name": self.check_name,
            "last_name": self.check_name,
            "email": self.check_email,
            "priority": self.check_priority,
            "alt_numeric": self.check_alt_numeric,
        }

    def check(self, raw: Mapping, row: int) -> CheckedRow:
        checked = CheckedRow(row=row, raw=raw)
        expected = getattr(raw, "expected", None)
        if expected is not None:  # a CSV line with too few or too many cells
            message = f"Expected {expected} values, found {raw.found}"
            checked.reject("line", "ragged_row", message)
            return checked
        checked.crm = {section: dict(names) for section, names in self.blank_crm.items()}
        for header, sent in raw.items():
            value = text(sent)
            if value is NOT_TEXT:
                checked.reject(header, "not_text", "Expected a text value")
                continue
            if isinstance(value, str) and len(value) > MAX_VALUE_CHARS:
                checked.reject(header, "too_long", f"Expected length is {MAX_VALUE_CHARS}")
                continue
            if value is None and header == self.reference:
                checked.reject(header, "blank_reference", f"the {header} should not be blank")
                continue
            standard = self.standard.get(header)
            if standard is not None:
                standard(checked, header, value)
            elif value is not None:
                self.check_crm(checked, self.fields[header], value)
            else:
                rule = self.fields[header]
                checked.crm.setdefault(rule.section, {})[rule.name] = None
        return checked

    def check_numeric(self, checked: CheckedRow, header: str, value: str | None) -> None:
        if value is None:
            checked.reject(header, "required", "Enter Number")
            return
        checked.numeric = canonical(value, self.country)
        if checked.numeric is None:
            checked.reject(header, "invalid_number", "Enter Valid Number")

    def check_user(self, checked: CheckedRow, header: str, value: str | None) -> None:
        checked.user = value

    def check_name(self, checked: CheckedRow, header: str, value: str | None) -> None:
        if value is not None and len(value) > 100:
            checked.reject(header, "too_long", "Expected length is 100")
        else:
            checked.values[header] = value

    def check_email(self, checked: CheckedRow, header: str, value: str | None) -> None:
        if value is None:
            checked.values[header] = None
        elif len(value) > 254:
            checked.reject(header, "too_long", "Expected length is 254")
        elif not is_email(value):
            checked.reject(header, "invalid_email", "Enter Valid Email Address")
        else:
            checked.values[header] = value

    def check_priority(self, checked: CheckedRow, header: str, value: str | None) -> None:
        if value is None:
            checked.values[header] = None
        elif WHOLE.fullmatch(value) and INT32[0] <= int(value) <= INT32[1]:
            checked.values[header] = int(value)
        else:
            checked.reject(header, "invalid_priority", "Enter Valid priority")

    def check_alt_numeric(self, checked: CheckedRow, header: str, value: str | None) -> None:
        numbers, error = alt_numbers(value, self.country) if value is not None else ({}, None)
        if error:
            checked.reject(*error)
        checked.values[header] = numbers

    def check_crm(self, checked: CheckedRow, rule: FieldRule, value: str) -> None:
        clean, error = crm_value(rule, value, self.country)
        if error:
            checked.reject(*error)
            return
        checked.crm.setdefault(rule.section, {})[rule.name] = clean
        if rule.unique:
            checked.uniqueid = str(clean)
