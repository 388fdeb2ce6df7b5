"""Phone numbers (CONTRACT 3.3): any accepted spelling of a number becomes one E.164 string.

Pure; never raises on bad data. ``canonical_slow`` is the rule, stated through the
phonenumbers library; ``canonical`` gives the same answers but settles the usual national
and international spellings with a regex match or two, asking the library when unsure.
"""

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass

import phonenumbers
from phonenumbers import NumberParseException, PhoneMetadata, PhoneNumberFormat

MAX_INPUT_LENGTH = 64
_NEVER = "(?!)"

# Every type _number_type_helper checks; a number of any of them is valid (listed most common
# first, which the regex tries first). Mobile counts only when its pattern differs from
# fixed-line's (same_mobile_and_fixed_line_pattern), as there.
_TYPES = (
    "mobile",
    "fixed_line",
    "toll_free",
    "premium_rate",
    "shared_cost",
    "voip",
    "personal_number",
    "pager",
    "uan",
    "voicemail",
)


def canonical(raw: str, country: str) -> str | None:
    """The number in E.164 (e.g. '+919876543210'), or None when it is not a valid number."""
    if raw.isdigit() and raw.isascii() and len(raw) <= MAX_INPUT_LENGTH:
        cleaned = raw
    else:
        cleaned = _clean(raw)
        if cleaned is None:
            return None
    plan = _plan(country)
    if plan is not None:
        found = plan.resolve(cleaned)
        if found is not None:
            return found
    return _parse(cleaned, country)


def plain_spellings(country: str) -> Callable[[list[str]], list[str | None]] | None:
    """For the country, a function that gives, for a list of values, each one's E.164
    form when the value is already a plain spelling (ASCII digits, an optional leading
    '+', no separators) that the country's shortcuts settle, and None otherwise (then
    ask ``canonical``); None when the country has no shortcuts. The caller makes sure
    values are ASCII."""
    plan = _plan(country)
    return None if plan is None else plan.column


def canonical_slow(raw: str, country: str) -> str | None:
    """``canonical`` computed by the phonenumbers library alone: the reference answer."""
    cleaned = _clean(raw)
    return None if cleaned is None else _parse(cleaned, country)


def _clean(raw: str) -> str | None:
    """Digits with an optional leading '+', separators removed; None for anything else."""
    if len(raw) > MAX_INPUT_LENGTH:
        return None
    # A chain of replace() is several times faster than translate() or re.sub here.
    cleaned = raw.replace(" ", "").replace("-", "").replace(".", "")
    cleaned = cleaned.replace("(", "").replace(")", "").replace("\t", "")
    digits = cleaned[1:] if cleaned.startswith("+") else cleaned
    return cleaned if digits.isdigit() and digits.isascii() else None


def _parse(cleaned: str, country: str) -> str | None:
    if cleaned.startswith("+"):
        attempts = [(cleaned, None)]
    else:  # national form first, then the digits as an international number
        attempts = [(cleaned, country), ("+" + cleaned, None)]
    for text, region in attempts:
        try:
            number = phonenumbers.parse(text, region)
        except NumberParseException:
            continue
        if phonenumbers.is_valid_number(number):
            return phonenumbers.format_number(number, PhoneNumberFormat.E164)
    return None


@dataclass(frozen=True, slots=True)
class _Plan:
    """One country's shortcuts, derived from the metadata phonenumbers itself uses.

    ``spelled`` fullmatches a cleaned input only when parse + is_valid_number would accept
    it in one of the plain spellings (retraced from phonenumbers' source): <nsn>,
    <code><nsn>, +<code><nsn>, <national prefix><nsn>, tried in that order, the NSN
    captured by the spelling's own group (the last group to close). ``resolve`` answers
    only then; otherwise it returns None and the library decides.
    """

    e164: str  # "+" and the country calling code, e.g. "+91"
    spelled: re.Pattern
    nsn_groups: frozenset[int]  # the group of each spelling

    def resolve(self, cleaned: str) -> str | None:
        match = self.spelled.fullmatch(cleaned)
        if match is None or match.lastindex not in self.nsn_groups:
            return None
        return self.e164 + match[match.lastindex]

    def column(self, values: list[str]) -> list[str | None]:
        """``resolve`` of each value (cleaned, ASCII), one C-level pass of the pattern."""
        groups, e164 = self.nsn_groups, self.e164
        return [
            e164 + match[match.lastindex] if match and match.lastindex in groups else None
            for match in map(self.spelled.fullmatch, values)
        ]


@functools.cache
def _plan(country: str) -> _Plan | None:
    """The country's shortcuts, or None when it is not a simple case (always ask the library)."""
    meta = PhoneMetadata.metadata_for_region(country)
    if meta is None or not meta.general_desc.national_number_pattern:
        return None
    code = str(meta.country_code)
    regions = phonenumbers.COUNTRY_CODE_TO_REGION_CODE.get(meta.country_code, ())
    # A number with this code is judged by the first region of the code's list (unless its
    # leading digits say otherwise); a shorter code that is a prefix of ours would be read first.
    if not regions or regions[0] != country:
        return None
    if any(
        int(code[:size]) in phonenumbers.COUNTRY_CODE_TO_REGION_CODE for size in range(1, len(code))
    ):
        return None
    idd = meta.international_prefix or _NEVER
    stripped = meta.national_prefix_for_parsing or _NEVER
    leading = f"(?={meta.leading_digits})" if len(regions) > 1 and meta.leading_digits else ""
    general = meta.general_desc.national_number_pattern
    descs = [
        desc
        for name in _TYPES
        if not (name == "mobile" and meta.same_mobile_and_fixed_line_pattern)
        and (desc := getattr(meta, name)) is not None
        and desc.national_number_pattern
    ]
    valid = {}  # NSN length -> pattern of a valid NSN (_number_type_helper != UNKNOWN)
    for length in meta.general_desc.possible_length:
        alternatives = "|".join(
            f"(?:{desc.national_number_pattern})"
            for desc in descs
            if not desc.possible_length or length in desc.possible_length
        )
        if alternatives:
            valid[length] = f"{leading}(?=(?:{general})\\Z)(?:{alternatives})"

    # a valid NSN, its length (what is left of the input) deciding its pattern
    nsn = "|".join(f"(?=.{{{length}}}\\Z){rule}" for length, rule in valid.items())

    def spelling(name: str, head: str) -> str:
        return f"{head}(?P<{name}>{nsn})"

    # What each spelling must rule out, retraced from phonenumbers.parse: an international
    # prefix (a country code would be read after it); a national prefix (it would be stripped,
    # after our code too); a number matching the general pattern whole (our code would stay).
    spellings = [
        spelling("national", f"(?!{idd})(?!{stripped})"),
        # (a number starting with our code is never read with a national prefix)
        spelling("coded", f"(?!{idd})(?!(?:{general})\\Z){code}(?!{stripped})"),
        spelling("plus", f"\\+{code}(?!{stripped})"),
    ]
    trunk = meta.national_prefix or ""
    if trunk.isdigit() and trunk.isascii() and not meta.national_prefix_transform_rule:
        # parse strips the first match of national_prefix_for_parsing; use it only when that
        # match is exactly ``trunk`` (the atomic group is that first match).
        head = f"(?!{code})(?!{idd})(?=(?>{stripped})(?<=\\A{trunk})){trunk}"
        spellings.append(spelling("trunk", head))
    spelled = re.compile("|".join(spellings))
    return _Plan(
        e164="+" + code,
        spelled=spelled,
        nsn_groups=frozenset(spelled.groupindex.values()),
    )
