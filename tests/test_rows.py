"""Pure per-row rules, table-driven: no database."""

import pytest

from contactload.ingest.campaign import FieldRule
from contactload.ingest.rows import NOT_TEXT, alt_numbers, crm_value, text


@pytest.mark.parametrize(
    ("sent", "expected"),
    [
        (None, None),
        ("", None),
        ("   ", None),
        ("  x ", "x"),
        (42, "42"),
        (9876543210.0, "9876543210"),
        (1.5, "1.5"),
        (float("nan"), NOT_TEXT),
        (True, NOT_TEXT),
        ({"a": 1}, NOT_TEXT),
        ([1], NOT_TEXT),
        ("a\x00b", NOT_TEXT),
    ],
)
def test_text_normalises_values(sent, expected):
    assert text(sent) is expected if expected in (None, NOT_TEXT) else text(sent) == expected


def rule(type_, size=None, choices=()):
    return FieldRule("s:f", "s", "f", type_, size, tuple(choices), False)


@pytest.mark.parametrize(
    ("field", "value", "stored"),
    [
        (rule("text", 5), "abcde", "abcde"),
        (rule("integer"), "-12", -12),
        (rule("float"), "1e3", 1000.0),
        (rule("float"), ".5", 0.5),
        (rule("date"), "2026-02-28", "2026-02-28"),
        (rule("date"), "28-02-2026", "2026-02-28"),
        (rule("date"), "28/02/2026", "2026-02-28"),
        (rule("datetime"), "2026-02-28T07:05", "2026-02-28 07:05:00"),
        (rule("datetime"), "28/02/2026 07:05:09", "2026-02-28 07:05:09"),
        (rule("time"), "7:05", "07:05:00"),
        (rule("email"), "a@b.co", "a@b.co"),
        (rule("phone"), "+44 20 7946 0958", "+442079460958"),
        (rule("choice", choices=["Home", "Car"]), "home", "Home"),
    ],
)
def test_crm_values_are_stored_normalised(field, value, stored):
    assert crm_value(field, value, "IN") == (stored, None)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        (rule("text", 5), "abcdef", "Expected length is 5"),
        (rule("integer"), "1.0", "Expected  1.0 in integer format"),
        (rule("float"), "inf", "Expected  inf in float format"),
        (rule("date"), "2026-02-30", "Expected  2026-02-30 in datefield format"),
        (rule("datetime"), "2026-02-28", "Expected  2026-02-28 in datetimefield format"),
        (rule("time"), "24:00", "Expected  24:00 in timefield format"),
        (rule("email"), "a@", "Expected  a@ in email format"),
        (rule("phone"), "555", "Expected  555 in phone format"),
        (rule("choice", choices=["Home", "Car"]), "boat", "Expected one of Home, Car"),
    ],
)
def test_crm_values_that_fail_their_type(field, value, message):
    clean, error = crm_value(field, value, "IN")
    assert clean is None
    assert error[0] == "s:f"
    assert error[2] == message


@pytest.mark.parametrize(
    ("value", "numbers", "code"),
    [
        ("9876500001", {"alt_numeric_1": "+919876500001"}, None),
        (
            "work:9876500001, home:09876500002",
            {"work": "+919876500001", "home": "+919876500002"},
            None,
        ),
        ("9876500001,,", {"alt_numeric_1": "+919876500001"}, None),
        ("1,2,3,4", {}, "too_many_alt_numbers"),
        ("work:123", {}, "invalid_alt_number"),
    ],
)
def test_alternate_numbers(value, numbers, code):
    found, error = alt_numbers(value, "IN")
    assert found == numbers
    assert (error[1] if error else None) == code
