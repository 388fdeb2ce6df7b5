"""Phone numbers (CONTRACT 3.3): any accepted spelling of a number becomes one E.164 string.

Pure; never raises on bad data. ``canonical_slow`` is the rule, stated through the
phonenumbers library; ``canonical`` gives the same answers but settles the usual national
and international spellings with one regex match, asking the library only when unsure.
"""

import functools
import re
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

    ``resolve`` answers only where it has retraced phonenumbers.parse + is_valid_number
    and found the answer certain; otherwise it returns None and the library decides.
    Each dict maps a length to a pattern whose fullmatch is the whole test for that length.
    """

    code: str  # country calling code, e.g. "91"
    national: dict[int, re.Pattern]  # valid NSN that parse keeps whole (no IDD, no prefix)
    final: dict[int, re.Pattern]  # valid NSN that parse would not strip a prefix from
    valid: dict[int, re.Pattern]  # valid NSN
    general: re.Pattern  # general_desc pattern: parse's test for stripping the code
    idd: re.Pattern  # international prefix: parse would read a country code after it
    national_prefix: re.Pattern  # national_prefix_for_parsing
    plain_prefix: bool  # no transform rule: stripping the prefix just drops it

    def resolve(self, cleaned: str) -> str | None:
        code = self.code
        if cleaned[0] == "+":  # +<code><nsn>
            nsn = cleaned[1 + len(code) :]
            pattern = self.final.get(len(nsn))
            if pattern and cleaned.startswith(code, 1) and pattern.fullmatch(nsn):
                return cleaned
            return None
        pattern = self.national.get(len(cleaned))
        if pattern and pattern.fullmatch(cleaned):  # <nsn>
            return "+" + code + cleaned
        if self.idd.match(cleaned):
            return None
        if cleaned.startswith(code):  # <code><nsn>: parse strips the code
            nsn = cleaned[len(code) :]
            pattern = self.final.get(len(nsn))
            if pattern and pattern.fullmatch(nsn) and not self.general.fullmatch(cleaned):
                return "+" + code + nsn
            return None
        prefix = self.national_prefix.match(cleaned)
        if prefix and self.plain_prefix:  # <national prefix><nsn>
            nsn = cleaned[prefix.end() :]
            pattern = self.valid.get(len(nsn))
            if pattern and pattern.fullmatch(nsn):
                return "+" + code + nsn
        return None


@functools.lru_cache(maxsize=None)
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
    national_prefix = meta.national_prefix_for_parsing or _NEVER
    leading = f"(?={meta.leading_digits})" if len(regions) > 1 and meta.leading_digits else ""
    general = meta.general_desc.national_number_pattern
    descs = [
        desc
        for name in _TYPES
        if not (name == "mobile" and meta.same_mobile_and_fixed_line_pattern)
        and (desc := getattr(meta, name)) is not None
        and desc.national_number_pattern
    ]
    national, final, valid = {}, {}, {}
    for length in meta.general_desc.possible_length:
        alternatives = "|".join(
            f"(?:{desc.national_number_pattern})"
            for desc in descs
            if not desc.possible_length or length in desc.possible_length
        )
        if alternatives:
            rule = f"{leading}(?=(?:{general})\\Z)(?:{alternatives})"
            national[length] = re.compile(f"(?!{idd})(?!{national_prefix}){rule}")
            final[length] = re.compile(f"(?!{national_prefix}){rule}")
            valid[length] = re.compile(rule)
    return _Plan(
        code=code,
        national=national,
        final=final,
        valid=valid,
        general=re.compile(general),
        idd=re.compile(idd),
        national_prefix=re.compile(national_prefix),
        plain_prefix=not meta.national_prefix_transform_rule,
    )
