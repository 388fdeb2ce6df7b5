"""Property tests (hypothesis): the row rules and the body parsers never raise on
any input but the documented request errors, and every generated row of an upload
ends with exactly one outcome."""

import io
import math

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contactload.errors import UploadError
from contactload.ingest import envelope, payload, writers
from contactload.ingest.campaign import CampaignRules, FieldRule
from contactload.ingest.columns import ColumnChecker
from contactload.ingest.insert import InsertPlan, json_texts
from contactload.ingest.lookups import JobContext
from contactload.ingest.payload import Chunk
from contactload.ingest.rows import ASCII_EMAIL, PLAIN_EMAIL, RowChecker
from contactload.ingest.submit import csv_records
from contactload.models import Contact, RowResult, UploadJob
from tests.conftest import run_worker

RULES = CampaignRules(
    id=1,
    name="Sales",
    country="IN",
    rejects_duplicates=True,
    fields=(
        FieldRule("c:id", "c", "id", "text", 30, (), True),
        FieldRule("c:n", "c", "n", "integer", None, (), False),
        FieldRule("c:f", "c", "f", "float", None, (), False),
        FieldRule("c:d", "c", "d", "date", None, (), False),
        FieldRule("c:t", "c", "t", "datetime", None, (), False),
        FieldRule("d:x", "d", "x", "text", None, (), False),  # sections interleave
        FieldRule("c:h", "c", "h", "time", None, (), False),
        FieldRule("c:e", "c", "e", "email", None, (), False),
        FieldRule("c:p", "c", "p", "phone", None, (), False),
        FieldRule("c:o", "c", "o", "choice", None, ("a", "b"), False),
    ),
)
HEADERS = RULES.accepted_headers()
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=40),
    st.from_regex(r"\+?[0-9 ()\-.]{0,16}", fullmatch=True),
    st.sampled_from(["9876543210", "2026-02-28", "12:30", "a@b.co", "1,2", "home:9876500001"]),
)
values = st.recursive(
    scalars, lambda inner: st.lists(inner) | st.dictionaries(st.text(), inner), max_leaves=5
)
rows = st.dictionaries(st.sampled_from(HEADERS), values, min_size=1)


def outcome(call):
    """(result, None), or (None, the request error it raised); anything else propagates."""
    try:
        return call(), None
    except UploadError as error:
        return None, error


@settings(max_examples=500, deadline=None)
@given(rows, st.sampled_from(["", "numeric", "c:id", "c:n"]))
def test_row_rules_never_raise_and_give_exactly_one_verdict(raw, reference):
    checked = RowChecker(RULES, reference=reference).check(raw, row=1)
    assert checked.ok is (not checked.errors)
    for header, code, message in checked.errors:
        assert header in raw
        assert code
        assert isinstance(message, str)
        assert message
    if checked.ok and "numeric" in raw and not reference:
        assert checked.numeric.startswith("+")


def chunks_of(values_strategy):
    """Uniform chunks: one header set, rows drawing values from a small pool (so that
    values repeat, as they do in real files) or afresh."""

    def build(headers):
        pool = st.lists(values_strategy, min_size=1, max_size=6)
        return pool.flatmap(
            lambda shared: st.lists(
                st.fixed_dictionaries(
                    {header: st.sampled_from(shared) | values_strategy for header in headers}
                ),
                min_size=1,
                max_size=25,
            )
        )

    return st.lists(st.sampled_from(HEADERS), min_size=1, unique=True).flatmap(build)


# Spellings near the edges of the shortcuts that settle mostly-distinct text columns.
EDGE_VALUES = [
    "9876543210",
    "+919876543210",
    "09876543210",
    "919876543210",
    " 9876543210",
    "+91 98765 43210",
    " 98765 43210 ",
    "9" + " " * 60 + "876543210",  # spaces taken out, but longer than canonical reads
    " " * 60 + "9876543210",  # stripped first: a plain number
    "98765\u200943210",
    "\u0669\u0668\u0667\u0666\u0665\u0664\u0663\u0662\u0661\u0660",
    "1" * 40,
    "1" * 4400,
    "a@b.co",
    "a@b.co\u3000",
    "A@B.CO",
    "a@b.co ",
    "x" * 250 + "@b.co",
    "1e999",
    "-0.0",
    "\u0663.5",
    "+7",
    "x" * 31,
    " " + "x" * 30,
    "ok\x00",
    "a@b\u2003.co",
    "a@b.co\u1680",
    "\u0661\u0662",
    "1.5e3",
    " 12 ",
    "-12",
    "+12",
]
EDGES = st.sampled_from(EDGE_VALUES)


# ASCII text shaped like addresses: every character either pattern treats specially
ascii_addresses = st.from_regex(
    r"[-!#$%&'*+/=?^_`{}|~.a-zA-Z0-9@]{0,12}@[-a-zA-Z0-9.]{0,20}\.(?:[-a-zA-Z]{0,6}|[xX][nN]--[a-z0-9-]{0,4})",
    fullmatch=True,
)


@settings(max_examples=1000, deadline=None, database=None)
@given(ascii_addresses | st.text(alphabet=st.characters(max_codepoint=127), max_size=30))
def test_the_ascii_email_pattern_agrees_with_djangos_on_ascii_text(value):
    assert bool(ASCII_EMAIL.fullmatch(value)) == bool(PLAIN_EMAIL.fullmatch(value))


@pytest.mark.parametrize("header", HEADERS)
def test_a_column_of_distinct_values_is_checked_as_each_value_alone(header):
    """Mostly-distinct columns take shortcuts: each edge spelling among plain values of
    every kind must still get exactly its cleaner's verdict."""
    fillers = [f"98765432{i:02d}" for i in range(40)] + [f"u{i}@x.co" for i in range(40)]
    fillers += [str(i * 7) for i in range(40)] + [f"t{i}" for i in range(40)]
    column = EDGE_VALUES + fillers
    checked = ColumnChecker(RULES, [header], text_only=True).check(
        Chunk.of_rows([[v] for v in column], 1), 0
    )
    rows = RowChecker(RULES)
    for index, value in enumerate(column):
        row = rows.check({header: value}, row=index + 1)
        assert checked.errors.get(index, []) == row.errors, value
        if row.ok and header not in ("numeric", "user"):
            rule = next((rule for rule in RULES.fields if rule.header == header), None)
            expected = row.values[header] if rule is None else row.crm[rule.section][rule.name]
            assert checked.clean[header][index] == expected, value
        elif row.ok and header == "numeric":
            assert checked.numeric[index] == row.numeric, value


def from_json(value: object) -> bool:
    """Whether a request's JSON can hold ``value`` (orjson reads no infinite or NaN
    number, and no integer beyond 64 bits: it reads those as floats)."""
    if type(value) is float:
        return math.isfinite(value)
    if isinstance(value, dict | list):
        return all(map(from_json, value.values() if isinstance(value, dict) else value))
    return type(value) is not int or -(2**63) <= value < 2**64


@settings(max_examples=300, deadline=None)
@given(chunks_of(values | EDGES | st.sampled_from([True, False, 1, 0, 1.0, "1", " 1 ", "", None])))
def test_the_column_check_of_a_chunk_agrees_with_the_row_check(chunk):
    headers = list(chunk[0])
    cells = [[row[header] for header in headers] for row in chunk]
    stored_chunk = Chunk.of_rows(cells, len(headers))
    if all(from_json(value) for row in cells for value in row):
        read_back = payload.unpack(payload.pack(stored_chunk), headers)
        assert [list(row) for row in read_back.rows()] == cells
    by_columns = ColumnChecker(RULES, headers).check(stored_chunk, first=10)
    row_checker = RowChecker(RULES)
    for index, raw in enumerate(chunk):
        row = row_checker.check(raw, row=11 + index)
        assert sorted(by_columns.errors.get(index, [])) == sorted(row.errors)
        if row.ok:
            assert by_columns.numeric[index] == row.numeric
            if "user" in headers:
                assert by_columns.user[index] == row.user
            for header in ("first_name", "last_name", "email", "priority", "alt_numeric"):
                if header in headers:
                    assert by_columns.clean[header][index] == row.values[header]
            for rule in RULES.fields:
                if rule.header in headers:
                    assert by_columns.clean[rule.header][index] == row.crm[rule.section][rule.name]
            if RULES.unique_field.header in headers:
                assert by_columns.uniqueid[index] == row.uniqueid
    plan = InsertPlan(
        JobContext(rules=RULES, phonebook_id=1, agents={}),
        UploadJob(headers=headers, source=UploadJob.Source.JSON),
    )
    stored = plan.contact_columns(by_columns)
    crm_column = writers.CONTACT_COLUMNS.index("customer_raw_data")
    for index, raw in enumerate(chunk):
        row = row_checker.check(raw, row=11 + index)
        if row.ok:
            assert orjson.loads(stored[crm_column][index]) == row.crm
    if all(value is None or isinstance(value, str) for row in cells for value in row):
        as_csv = ColumnChecker(RULES, headers, text_only=True).check(stored_chunk, first=10)
        assert (as_csv.errors, as_csv.clean) == (by_columns.errors, by_columns.clean)
    rejected = by_columns.rejected(by_columns.errors)
    assert [(row.row, dict(row.raw)) for row in rejected] == [
        (11 + index, raw) for index, raw in enumerate(chunk) if by_columns.errors.get(index)
    ]


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=300) | st.builds(lambda s: s.encode(), st.text(max_size=300)))
def test_the_json_body_parser_answers_only_with_request_errors(body):
    upload, error = outcome(lambda: envelope.check_structure(envelope.parse_json(body)))
    if error is not None:
        assert error.status in (400, 413)
    else:
        assert upload.rows
        assert all(isinstance(row, dict) for row in upload.rows)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=10),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=10,
)
bodies = st.fixed_dictionaries(
    {},
    optional={
        "campaign": json_values,
        "action_type": json_values | st.sampled_from(["insert", "update"]),
        "reference_field": json_values,
        "bulk_data": json_values | st.lists(st.dictionaries(st.sampled_from(HEADERS), json_values)),
        "callback_url": json_values,
    },
)


@settings(max_examples=500, deadline=None)
@given(bodies)
def test_any_json_structure_is_an_envelope_or_a_request_error(data):
    def check():
        return envelope.check_rows(envelope.check_structure(data), RULES, max_rows=100)

    headers, error = outcome(check)
    if error is not None:
        assert error.status in (400, 413)
    else:
        assert set(headers) <= set(HEADERS)


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=400))
def test_the_csv_reader_answers_only_with_request_errors(raw):
    records, error = outcome(lambda: list(csv_records(io.BytesIO(raw))))
    if error is not None:
        assert error.message.startswith("Invalid JSON: ")
    else:
        assert all(isinstance(cell, str) for record in records for cell in record)


upload_rows = st.lists(
    st.fixed_dictionaries(
        {
            "numeric": st.one_of(
                st.integers(9_000_000_000, 9_000_000_040).map(str),
                st.sampled_from(["", "12", "+91 90000 00001", None, True]),
            ),
            "email": st.one_of(st.none(), st.just("a@b.co"), st.text(max_size=6)),
            "loan:amount": st.one_of(st.integers(-5, 5), st.text(max_size=4), st.none()),
        }
    ),
    min_size=1,
    max_size=30,
)


@pytest.mark.slow
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(upload_rows)
def test_every_row_of_an_upload_gets_exactly_one_outcome(upload, campaign, generated):
    response = upload({"campaign": "Sales", "bulk_data": generated})
    assert response.status_code == 200, response.content
    run_worker()
    job = UploadJob.objects.get(pk=response.json()["job_id"])
    assert job.state == "completed"
    assert job.total == len(generated) == job.inserted + job.rejected
    assert RowResult.objects.filter(job=job).count() == job.rejected
    assert Contact.objects.filter(phonebook=job.phonebook).count() == job.inserted
    assert set(RowResult.objects.filter(job=job).values_list("row", flat=True)) <= set(
        range(1, len(generated) + 1)
    )


json_scalars = (
    st.text()
    | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.none()
)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(json_scalars, min_size=1, max_size=40)
    | st.lists(st.text(), min_size=1, max_size=40)
    | st.lists(st.sampled_from(['a"b', "c\\d", "e\x1ff", "\u2028", "x", None]), max_size=40)
)
def test_a_column_of_crm_values_is_written_as_orjson_writes_each_value(values):
    """``json_texts`` takes shortcuts by column; each text must still be orjson's."""
    assert json_texts(values) == [orjson.dumps(value).decode() for value in values]
