"""Per-row rules (CONTRACT 3.1), pure: a row as sent in, a CheckedRow out; never
raises on bad data. Checks that need the database (users, DNC, duplicates) are
added by ``run`` from set lookups; every message of a row is kept."""

import functools
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from itertools import repeat

from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator, validate_email

from contactload.ingest.campaign import STANDARD_HEADERS, CampaignRules, FieldRule
from contactload.ingest.phones import MAX_INPUT_LENGTH, canonical, plain_spellings

WHOLE = re.compile(r"[+-]?\d+")
DECIMAL = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")
INT32 = (-(2**31), 2**31 - 1)
INT64 = (-(2**63), 2**63 - 1)  # a CRM integer (JSON has no wider integer to store it in)
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


ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
# Django's EmailValidator in one compiled pattern, for its common case: a dot-atom local
# part at a host name (its own patterns). Anything else, it is asked itself.
PLAIN_EMAIL = re.compile(
    r"[-!#$%&'*+/=?^_`{}|~0-9A-Z]+(?:\.[-!#$%&'*+/=?^_`{}|~0-9A-Z]+)*@"
    + EmailValidator.hostname_re
    + EmailValidator.domain_re
    + EmailValidator.tld_no_fqdn_re,
    re.IGNORECASE,
)
# The same for ASCII text (``bulk_emails`` sees no other): without the non-ASCII letters
# range, which no ASCII character falls in, even case-folded (1.9x faster)
ASCII_EMAIL = re.compile(PLAIN_EMAIL.pattern.replace("\u00a1-\uffff", ""), re.IGNORECASE)
MAX_EMAIL_CHARS = 320  # Django's EmailValidator's own limit


def parse_with(formats: tuple[str, ...], value: str, out: str) -> str | None:
    for fmt in formats:
        try:
            return datetime.strptime(value, fmt).strftime(out)
        except ValueError:
            continue
    return None


def parse_date(value: str) -> str | None:
    """``value`` as YYYY-MM-DD; an ISO date of a year from 1000 is settled without strptime."""
    if ISO_DATE.fullmatch(value) and value[0] != "0":
        try:
            date(int(value[:4]), int(value[5:7]), int(value[8:]))
        except ValueError:
            return None
        return value
    return parse_with(DATE_FORMATS, value, "%Y-%m-%d")


def is_email(value: str) -> bool:
    if len(value) <= MAX_EMAIL_CHARS and PLAIN_EMAIL.fullmatch(value):
        return True
    try:
        validate_email(value)
    except ValidationError as exc:
        # Django's error refers to itself (its error_list): left with its traceback, that
        # cycle would keep the frames below, and the whole chunk they hold, alive until
        # the garbage collector comes by.
        exc.__traceback__ = None
        return False
    return True


def crm_value(rule: FieldRule, value: str, country: str) -> tuple[object, Error | None]:
    """The stored form of a CRM value, or the error it earns."""
    if rule.size is not None and len(value) > rule.size:
        return None, (rule.header, "too_long", f"Expected length is {rule.size}")
    kind, clean = rule.type, value
    if kind == "integer":
        clean = whole(value) if WHOLE.fullmatch(value) else None
    elif kind == "float":
        clean = float(value) if DECIMAL.fullmatch(value) else None
        if clean is not None and not math.isfinite(clean):
            clean = None
    elif kind == "date":
        clean = parse_date(value)
    elif kind == "datetime":
        clean = parse_with(DATETIME_FORMATS, value, "%Y-%m-%d %H:%M:%S")
    elif kind == "time":
        clean = parse_with(TIME_FORMATS, value, "%H:%M:%S")
    elif kind == "email":
        clean = value if is_email(value) else None
    elif kind == "phone":
        clean = canonical(value, country)
    elif kind == "choice":
        clean = choice_options(rule.choices).get(value.casefold())
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


@functools.cache
def choice_options(choices: tuple[str, ...]) -> dict[str, str]:
    return {choice.casefold(): choice for choice in choices}


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


class Rejection:
    """What a cleaner returns for a value that earns an error (a clean value never is one)."""

    __slots__ = ("error",)

    def __init__(self, header: str, code: str, message: str):
        self.error: Error = (header, code, message)


Cleaner = Callable[[object], object]  # a value as sent -> its stored form, or a Rejection
Bulk = Callable[[list[str]], list]  # values -> clean values, None where a cleaner must decide


class Cleaners:
    """One cleaner per header of a campaign: the value rules of CONTRACT 3.1 for one
    value at a time, shared by the row-by-row and the column-by-column checks. A
    cleaner never raises on bad data; for each value it returns its stored form
    (None when blank) or a Rejection: a value earns at most one error."""

    def __init__(self, rules: CampaignRules, reference: str = ""):
        self.country, self.reference = rules.country, reference
        self.fields = {rule.header: rule for rule in rules.fields}
        self.by_header: dict[str, Cleaner] = {}

    def __getitem__(self, header: str) -> Cleaner:
        cleaner = self.by_header.get(header)
        if cleaner is None:
            cleaner = self.by_header[header] = self.build(header)
        return cleaner

    def build(self, header: str) -> Cleaner:
        rule = self.fields.get(header)
        specific = {
            "numeric": self.numeric,
            "user": lambda value: value,
            "first_name": functools.partial(self.name, header),
            "last_name": functools.partial(self.name, header),
            "email": self.email,
            "priority": self.priority,
            "alt_numeric": self.alt_numeric,
        }.get(header) or (lambda value: self.crm(rule, value))
        blank_reference = Rejection(header, "blank_reference", f"the {header} should not be blank")
        is_reference = header == self.reference
        not_text = Rejection(header, "not_text", "Expected a text value")
        too_long = Rejection(header, "too_long", f"Expected length is {MAX_VALUE_CHARS}")

        def clean(sent: object) -> object:
            value = text(sent)
            if value is NOT_TEXT:
                return not_text
            if value is None:
                return blank_reference if is_reference else specific(None)
            if len(value) > MAX_VALUE_CHARS:
                return too_long
            return specific(value)

        return clean

    def bulk(self, header: str) -> Bulk | None:
        """A shortcut for a column of text values (no None), for the kinds of values that
        are mostly distinct (numbers, emails, whole numbers, decimals, text): a function
        giving each value's clean form where a plain spelling settles it, and None where
        the value's cleaner must decide (a blank, an unusual spelling, anything wrong).
        Its answers are the cleaner's; None for a header without a shortcut."""
        rule = self.fields.get(header)
        kind = "phone" if header == "numeric" else rule.type if rule is not None else header
        size = MAX_VALUE_CHARS if rule is None or rule.size is None else rule.size
        if kind == "phone":
            column = plain_spellings(self.country)
            if column is None:
                return None
            return functools.partial(bulk_phones, column, min(size, MAX_VALUE_CHARS))
        if kind == "email":
            return functools.partial(bulk_emails, min(size, 254))
        if kind == "integer" and rule is not None:
            return functools.partial(bulk_matches, WHOLE, min(size, MAX_VALUE_CHARS), whole)
        if kind == "float" and rule is not None:
            return functools.partial(bulk_matches, DECIMAL, min(size, MAX_VALUE_CHARS), finite)
        if kind == "text" and rule is not None:
            return functools.partial(bulk_text, min(size, MAX_VALUE_CHARS))
        return None

    def numeric(self, value: str | None) -> object:
        if value is None:
            return Rejection("numeric", "required", "Enter Number")
        number = canonical(value, self.country)
        if number is None:
            return Rejection("numeric", "invalid_number", "Enter Valid Number")
        return number

    @staticmethod
    def name(header: str, value: str | None) -> object:
        if value is not None and len(value) > 100:
            return Rejection(header, "too_long", "Expected length is 100")
        return value

    @staticmethod
    def email(value: str | None) -> object:
        if value is None:
            return None
        if len(value) > 254:
            return Rejection("email", "too_long", "Expected length is 254")
        if not is_email(value):
            return Rejection("email", "invalid_email", "Enter Valid Email Address")
        return value

    @staticmethod
    def priority(value: str | None) -> object:
        if value is None:
            return None
        number = whole(value, INT32) if WHOLE.fullmatch(value) else None
        if number is not None:
            return number
        return Rejection("priority", "invalid_priority", "Enter Valid priority")

    def alt_numeric(self, value: str | None) -> object:
        if value is None:
            return {}
        numbers, error = alt_numbers(value, self.country)
        return Rejection(*error) if error else numbers

    def crm(self, rule: FieldRule, value: str | None) -> object:
        if value is None:
            return None
        clean, error = crm_value(rule, value, self.country)
        return Rejection(*error) if error else clean


def bulk_phones(column: Callable[[list[str]], list], size: int, values: list[str]) -> list:
    joined = "".join(values)
    if not joined.isascii():  # the shortcuts' patterns would take other digits
        return [None] * len(values)
    # Spaces are the usual separators: taken out as ``canonical`` would (anything else,
    # or a value longer than it reads, is left to it)
    found = column(
        list(map(str.replace, values, repeat(" "), repeat(""))) if " " in joined else values
    )
    size = min(size, MAX_INPUT_LENGTH)
    if max(map(len, values), default=0) > size:  # (a plain spelling is at most 16 characters)
        return [
            None if len(value) > size else number
            for value, number in zip(values, found, strict=True)
        ]
    return found


def bulk_matches(pattern: re.Pattern, size: int, convert, values: list[str]) -> list:
    """Values that fullmatch ``pattern`` (none of them blank, padded or holding NUL: the
    patterns take none of that) and are at most ``size`` long, converted."""
    matches = map(pattern.fullmatch, values)
    if max(map(len, values), default=0) <= size:
        kept = [value if match else None for value, match in zip(values, matches, strict=True)]
    else:
        kept = [
            value if match and len(value) <= size else None
            for value, match in zip(values, matches, strict=True)
        ]
    if convert is None:
        return kept
    return [None if value is None else convert(value) for value in kept]


def bulk_emails(size: int, values: list[str]) -> list:
    if not "".join(values).isascii():  # the host pattern takes spaces str.strip would cut
        return [None] * len(values)
    return bulk_matches(ASCII_EMAIL, size, None, values)


def whole(value: str, bounds: tuple[int, int] = INT64) -> int | None:
    """A whole number's value within ``bounds`` (else None); long digit strings are not
    even converted (``int`` refuses more than 4,300 digits)."""
    if len(value) > 20:
        return None
    number = int(value)
    return number if bounds[0] <= number <= bounds[1] else None


def finite(value: str) -> float | None:
    number = float(value)
    return number if math.isfinite(number) else None


def bulk_text(size: int, values: list[str]) -> list:
    """Text as the cleaner keeps it: stripped; blanks, NUL and long values left to it."""
    if "\x00" in "".join(values):
        return [None] * len(values)
    stripped = list(map(str.strip, values))
    if max(map(len, stripped), default=0) <= size:
        return [value or None for value in stripped]
    return [value if value and len(value) <= size else None for value in stripped]


class RowChecker:
    """Checks the rows of one job one row at a time; built once per job. For an insert
    (no ``reference``) ``crm`` holds every CRM field of the campaign; for an update it
    holds only the fields the row carries, so that only those change."""

    def __init__(self, rules: CampaignRules, reference: str = ""):
        self.rules = rules
        self.cleaners = Cleaners(rules, reference)
        self.fields = self.cleaners.fields
        self.blank_crm: dict[str, dict] = {}
        if not reference:
            for rule in rules.fields:
                self.blank_crm.setdefault(rule.section, {})[rule.name] = None

    def check(self, raw: Mapping, row: int) -> CheckedRow:
        checked = CheckedRow(row=row, raw=raw)
        expected = getattr(raw, "expected", None)
        if expected is not None:  # a CSV line with too few or too many cells
            checked.reject(*ragged(expected, raw.found))
            return checked
        checked.crm = {section: dict(names) for section, names in self.blank_crm.items()}
        for header, sent in raw.items():
            clean = self.cleaners[header](sent)
            if type(clean) is Rejection:
                checked.errors.append(clean.error)
                continue
            if header == "numeric":
                checked.numeric = clean
            elif header == "user":
                checked.user = clean
            elif header in STANDARD_HEADERS:
                checked.values[header] = clean
            else:
                rule = self.fields[header]
                checked.crm.setdefault(rule.section, {})[rule.name] = clean
                if rule.unique and clean is not None:
                    checked.uniqueid = str(clean)
        return checked


def ragged(expected: int, found: int) -> Error:
    return ("line", "ragged_row", f"Expected {expected} values, found {found}")
