"""Phone numbers (CONTRACT 3.3): each accepted spelling becomes one E.164 string, and the
fast path gives exactly the answers of the phonenumbers library."""

import phonenumbers
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from contactload.ingest.phones import MAX_INPUT_LENGTH, canonical, canonical_slow


@pytest.mark.parametrize(
    ("raw", "country", "expected"),
    [
        # India: national, trunk prefix, code with and without plus, separators
        ("9876543210", "IN", "+919876543210"),
        ("+91 98765 43210", "IN", "+919876543210"),
        ("09876543210", "IN", "+919876543210"),
        ("919876543210", "IN", "+919876543210"),
        ("(987) 654-3210", "IN", "+919876543210"),
        ("98765.43210", "IN", "+919876543210"),
        ("98765\t43210", "IN", "+919876543210"),
        ("+91-98765-43210", "IN", "+919876543210"),
        ("0091 98765 43210", "IN", "+919876543210"),
        ("1800 123 4567", "IN", "+9118001234567"),
        # United States
        ("(201) 555-0123", "US", "+12015550123"),
        ("201.555.0123", "US", "+12015550123"),
        ("1 201 555 0123", "US", "+12015550123"),
        ("+1 (201) 555-0123", "US", "+12015550123"),
        ("011 44 20 7946 0958", "US", "+442079460958"),
        # United Kingdom, including a Guernsey mobile reached by a GB national spelling
        ("020 7946 0958", "GB", "+442079460958"),
        ("07400 123456", "GB", "+447400123456"),
        ("+44 7400 123456", "GB", "+447400123456"),
        ("447400 123456", "GB", "+447400123456"),
        ("07911 123456", "GB", "+447911123456"),
        # Other countries' national forms
        ("0412 345 678", "AU", "+61412345678"),
        ("030 123456", "DE", "+4930123456"),
        ("6123 4567", "SG", "+6561234567"),
        ("050 123 4567", "AE", "+971501234567"),
        ("321 1234567", "CO", "+573211234567"),
        # Traps the fast path must see as phonenumbers does: a code-first number whose
        # digits also fit a type pattern, and a prefix that parse reads with a carrier code
        ("4930123454", "DE", "+4930123454"),
        ("03211234567", "CO", None),
        # Another country's number in an Indian campaign, with and without plus
        ("+44 20 7946 0958", "IN", "+442079460958"),
        ("447400123456", "IN", "+447400123456"),
        ("+91 98765 43210", "US", "+919876543210"),
        # Separators count towards the input limit
        ("9876543210".ljust(MAX_INPUT_LENGTH), "IN", "+919876543210"),
        ("9876543210".ljust(MAX_INPUT_LENGTH + 1), "IN", None),
        # Not numbers
        ("", "IN", None),
        ("   ", "IN", None),
        ("abc", "IN", None),
        ("+", "IN", None),
        ("12345", "IN", None),
        ("98765432101234", "IN", None),
        ("9" * 200, "IN", None),
        ("+0 98765 43210", "IN", None),
        ("++91 98765 43210", "IN", None),
        ("98765x43210", "IN", None),
        ("9876543210 ext 1", "IN", None),
        ("1800 MICROSOFT", "US", None),
        ("٩٨٧٦٥٤٣٢١٠", "IN", None),
        ("12345678", "SG", None),
    ],
)
def test_each_spelling_has_one_canonical_form(raw, country, expected):
    assert canonical(raw, country) == expected
    assert canonical_slow(raw, country) == expected


def test_common_spellings_are_settled_without_asking_phonenumbers(monkeypatch):
    def no_parse(*args, **kwargs):
        raise AssertionError("the fast path should have answered")

    monkeypatch.setattr(phonenumbers, "parse", no_parse)
    for raw, country in [
        ("98765 43210", "IN"),
        ("09876543210", "IN"),
        ("919876543210", "IN"),
        ("+919876543210", "IN"),
        ("(201) 555-0123", "US"),
        ("12015550123", "US"),
        ("020 7946 0958", "GB"),
        ("0412 345 678", "AU"),
        ("030 123456", "DE"),
    ]:
        assert canonical(raw, country) is not None


COUNTRIES = [
    *("IN", "US", "GB", "AU", "DE", "SG", "AE"),
    # shared calling codes, prefix transform rules, carrier codes
    *("CA", "FR", "BR", "JP", "RU", "AR", "CN", "CO"),
]
SEPARATORS = [" ", "-", ".", "(", ")", "\t"]
EXAMPLES = {
    region: [
        phonenumbers.national_significant_number(example)
        for kind in phonenumbers.PhoneNumberType.values()
        if (example := phonenumbers.example_number_for_type(region, kind)) is not None
    ]
    for region in COUNTRIES
}


@st.composite
def mutated_example(draw, region):
    """A real example number of the region with up to three digits replaced, added or dropped."""
    digits = list(draw(st.sampled_from(EXAMPLES[region])))
    edits = st.tuples(
        st.sampled_from(["replace", "insert", "delete"]),
        st.integers(0, 16),
        st.sampled_from("0123456789"),
    )
    for edit, position, digit in draw(st.lists(edits, max_size=3)):
        position = min(position, len(digits) - 1)
        if edit == "replace":
            digits[position] = digit
        elif edit == "insert":
            digits.insert(position, digit)
        elif len(digits) > 1:
            del digits[position]
    return "".join(digits)


@st.composite
def spellings(draw):
    """(raw, country): a number of the campaign's country (mostly) or another, in any form."""
    country = draw(st.sampled_from(COUNTRIES))
    region = draw(st.sampled_from([country, country, *COUNTRIES]))
    nsn = draw(
        st.one_of(
            mutated_example(region),
            st.text(alphabet="0123456789", min_size=5, max_size=16),
        )
    )
    code = str(phonenumbers.country_code_for_region(region))
    trunk = phonenumbers.PhoneMetadata.metadata_for_region(region).national_prefix or "0"
    raw = draw(
        st.sampled_from(
            [
                nsn,
                trunk + nsn,
                code + nsn,
                "+" + code + nsn,
                "00" + code + nsn,
                code + trunk + nsn,
                "+" + code + trunk + nsn,
                trunk + code + nsn,
            ]
        )
    )
    inserts = st.tuples(st.integers(0, 20), st.sampled_from(SEPARATORS))
    for position, separator in draw(st.lists(inserts, max_size=4)):
        raw = raw[:position] + separator + raw[position:]
    return raw, country


@settings(max_examples=2000, deadline=None, database=None)
@given(spellings())
def test_fast_path_agrees_with_phonenumbers(spelling):
    raw, country = spelling
    result = canonical(raw, country)
    assert result == canonical_slow(raw, country)
    if result is not None:
        assert canonical(result, country) == result


@settings(max_examples=1000, deadline=None, database=None)
@given(st.text(alphabet="0123456789+ -.()\tx", max_size=24), st.sampled_from(COUNTRIES))
def test_arbitrary_text_never_raises_and_agrees(raw, country):
    assert canonical(raw, country) == canonical_slow(raw, country)
