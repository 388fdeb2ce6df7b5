"""CONTRACT 3.1 through HTTP and the real worker: each per-row check with its exact
message, all messages of a row, good rows written beside rejected ones, and what
a stored contact holds."""

from datetime import timedelta

import pytest
from django.utils import timezone

from contactload.models import Campaign, Contact, CrmField, DncEntry, RowResult, UploadJob
from tests.conftest import make_user

GOOD = {
    "numeric": "9876543210",
    "user": "agent1",
    "first_name": "Asha",
    "last_name": "Rao",
    "email": "asha@example.com",
    "priority": "2",
    "alt_numeric": "home:9876500001,9876500002",
    "customer_info:customer_id": "C-1",
    "customer_info:name": "Asha Rao",
    "customer_info:dob": "31/12/1990",
    "loan:amount": "250000",
    "loan:rate": "8.5",
    "loan:product": "Home",
    "loan:due_at": "2026-12-01 10:30",
    "loan:slot": "09:15",
    "loan:notes": "call after 6",
    "contact:office_email": "asha@work.example",
    "contact:office_phone": "022 2345 6789",
}


def one_row(process, **changes):
    """Process GOOD plus changes as one row; return (status body, its improper item or None)."""
    body = process({"campaign": "Sales", "bulk_data": [{**GOOD, **changes}]})
    items = body.get("improper_data", [])
    return body, (items[0] if items else None)


def test_a_good_row_is_stored_as_the_contract_says(process, agents, campaign):
    body, item = one_row(process)
    assert body["status"] == "Completed"
    assert item is None
    contact = Contact.objects.get()
    job = UploadJob.objects.get()
    assert contact.campaign == campaign
    assert contact.phonebook == job.phonebook
    assert contact.numeric == "+919876543210"
    assert contact.user == agents[0]
    assert (contact.first_name, contact.last_name, contact.email) == ("Asha", "Rao", GOOD["email"])
    assert contact.priority == 2
    assert contact.alt_numeric == {"home": "+919876500001", "alt_numeric_2": "+919876500002"}
    assert contact.status == "NotDialed"
    assert contact.uniqueid == "C-1"
    assert contact.customer_raw_data == {
        "customer_info": {"customer_id": "C-1", "name": "Asha Rao", "dob": "1990-12-31"},
        "loan": {
            "amount": 250000,
            "rate": 8.5,
            "product": "home",
            "due_at": "2026-12-01 10:30:00",
            "slot": "09:15:00",
            "notes": "call after 6",
        },
        "contact": {"office_email": "asha@work.example", "office_phone": "+912223456789"},
    }


def test_crm_values_land_in_their_own_fields_when_sections_interleave(process, campaign):
    # customer_info's fields come first and last in display order, with others between
    CrmField.objects.create(
        campaign=campaign, section="customer_info", name="branch", type="text", position=99
    )
    rows = [
        {
            "numeric": f"987654321{k}",
            "customer_info:branch": f"Pune {k}",
            "customer_info:name": f"Name {k}",
            "loan:amount": str(k),
            "contact:office_email": f"o{k}@work.example",
        }
        for k in range(2)
    ]
    body = process({"campaign": "Sales", "bulk_data": rows})
    assert (body["inserted"], body["rejected"]) == (2, 0)
    for k in range(2):
        data = Contact.objects.get(numeric=f"+91987654321{k}").customer_raw_data
        assert data["customer_info"] == {
            "customer_id": None,
            "name": f"Name {k}",
            "dob": None,
            "branch": f"Pune {k}",
        }
        assert data["loan"]["amount"] == k
        assert data["contact"] == {"office_email": f"o{k}@work.example", "office_phone": None}


def test_absent_and_blank_crm_fields_are_stored_as_null(process, campaign):
    process({"campaign": "Sales", "bulk_data": [{"numeric": "9876543210", "loan:amount": ""}]})
    contact = Contact.objects.get()
    assert contact.customer_raw_data["loan"]["amount"] is None
    assert contact.customer_raw_data["customer_info"] == {
        "customer_id": None,
        "name": None,
        "dob": None,
    }
    assert contact.uniqueid is None
    assert contact.user is None


CASES = [
    ({"numeric": ""}, "Enter Number", "numeric", "required"),
    ({"numeric": None}, "Enter Number", "numeric", "required"),
    ({"numeric": "12345"}, "Enter Valid Number", "numeric", "invalid_number"),
    ({"numeric": "98765x3210"}, "Enter Valid Number", "numeric", "invalid_number"),
    ({"user": "ghost"}, "This user is not present in our database", "user", "user_not_found"),
    ({"email": "not-an-address"}, "Enter Valid Email Address", "email", "invalid_email"),
    ({"email": "a" * 250 + "@b.co"}, "Expected length is 254", "email", "too_long"),
    ({"priority": "high"}, "Enter Valid priority", "priority", "invalid_priority"),
    ({"priority": "1.5"}, "Enter Valid priority", "priority", "invalid_priority"),
    ({"alt_numeric": "123"}, "Enter Valid alternate number", "alt_numeric", "invalid_alt_number"),
    (
        {"alt_numeric": "9876500001,9876500002,9876500003,9876500004"},
        "More than 3 alternate numbers are not allowed",
        "alt_numeric",
        "too_many_alt_numbers",
    ),
    (
        {"customer_info:customer_id": "C" * 31},
        "Expected length is 30",
        "customer_info:customer_id",
        "too_long",
    ),
    ({"loan:notes": "n" * 21}, "Expected length is 20", "loan:notes", "too_long"),
    ({"loan:amount": "12.5"}, "Expected  12.5 in integer format", "loan:amount", "invalid_type"),
    ({"loan:rate": "abc"}, "Expected  abc in float format", "loan:rate", "invalid_type"),
    (
        {"customer_info:dob": "31-31-1990"},
        "Expected  31-31-1990 in datefield format",
        "customer_info:dob",
        "invalid_type",
    ),
    (
        {"loan:due_at": "tomorrow"},
        "Expected  tomorrow in datetimefield format",
        "loan:due_at",
        "invalid_type",
    ),
    ({"loan:slot": "25:00"}, "Expected  25:00 in timefield format", "loan:slot", "invalid_type"),
    (
        {"contact:office_email": "x@"},
        "Expected  x@ in email format",
        "contact:office_email",
        "invalid_type",
    ),
    (
        {"contact:office_phone": "12"},
        "Expected  12 in phone format",
        "contact:office_phone",
        "invalid_type",
    ),
    (
        {"loan:product": "boat"},
        "Expected one of home, car, personal",
        "loan:product",
        "invalid_choice",
    ),
    ({"first_name": "F" * 101}, "Expected length is 100", "first_name", "too_long"),
    ({"last_name": "L" * 101}, "Expected length is 100", "last_name", "too_long"),
    ({"first_name": {"a": 1}}, "Expected a text value", "first_name", "not_text"),
    ({"customer_info:name": ["x"]}, "Expected a text value", "customer_info:name", "not_text"),
    ({"email": True}, "Expected a text value", "email", "not_text"),
]


@pytest.mark.parametrize(("changes", "message", "header", "code"), CASES)
def test_each_row_check_rejects_with_its_message(process, agents, changes, message, header, code):
    body, item = one_row(process, **changes)
    assert body["status"] == "Invalid Data"
    assert item["description"] == message
    assert item["row"] == 1
    assert item["error_codes"] == {header: [code]}
    sent = {**GOOD, **changes}
    assert {key: item[key] for key in sent} == sent  # the row as sent
    assert not Contact.objects.exists()
    assert (body["total"], body["inserted"], body["rejected"]) == (1, 0, 1)
    stored = RowResult.objects.get()
    assert stored.errors == [[header, code, message]]


def test_user_not_an_agent_of_this_campaign(process, agents, campaign):
    from contactload.models import Campaign, Role

    make_user("elsewhere", Role.AGENT, [Campaign.objects.create(name="Other")])
    _body, item = one_row(process, user="elsewhere")
    assert item["description"] == "This user is not assigned to this campaign"
    assert item["error_codes"] == {"user": ["user_not_assigned"]}


def test_dnc_global_and_campaign_lists_block_in_canonical_form(process, agents, campaign):
    DncEntry.objects.create(numeric="+919876543210")
    DncEntry.objects.create(numeric="+919876543211", campaign=campaign)
    DncEntry.objects.create(numeric="+919876543212", active=False)
    rows = [
        {**GOOD, "numeric": "+91 98765 43210", "customer_info:customer_id": "A"},
        {**GOOD, "numeric": "09876543211", "customer_info:customer_id": "B"},
        {**GOOD, "numeric": "9876543212", "customer_info:customer_id": "C"},
    ]
    body = process({"campaign": "Sales", "bulk_data": rows})
    items = {item["row"]: item["description"] for item in body["improper_data"]}
    assert items == {
        1: "This number is blocked globally",
        2: "This number is blocked in this campaign",
    }
    assert list(Contact.objects.values_list("numeric", flat=True)) == ["+919876543212"]


def test_a_dnc_entry_blocks_until_its_end_date_and_another_campaigns_list_does_not(
    process, agents, campaign
):
    today = timezone.localdate()
    other = Campaign.objects.create(name="Other", country="IN")
    DncEntry.objects.create(numeric="+919876543210", end_date=today)
    DncEntry.objects.create(numeric="+919876543211", end_date=today - timedelta(days=1))
    DncEntry.objects.create(numeric="+919876543212", campaign=campaign, end_date=today)
    DncEntry.objects.create(numeric="+919876543213", campaign=other)
    rows = [
        {**GOOD, "numeric": f"98765432{10 + k}", "customer_info:customer_id": f"E{k}"}
        for k in range(4)
    ]
    body = process({"campaign": "Sales", "bulk_data": rows})
    items = {item["row"]: item["description"] for item in body["improper_data"]}
    assert items == {
        1: "This number is blocked globally",
        3: "This number is blocked in this campaign",
    }
    assert sorted(Contact.objects.values_list("numeric", flat=True)) == [
        "+919876543211",
        "+919876543213",
    ]


def test_duplicates_in_the_upload_compare_canonical_forms(process, agents):
    rows = [
        {**GOOD, "numeric": "9876543210", "customer_info:customer_id": "A"},
        {**GOOD, "numeric": "+91 98765-43210", "customer_info:customer_id": "B"},
        {**GOOD, "numeric": "919876543210", "customer_info:customer_id": "C"},
        {**GOOD, "numeric": "9876543219", "customer_info:customer_id": "A"},
    ]
    body = process({"campaign": "Sales", "bulk_data": rows})
    items = {
        item["row"]: (item["description"], item["error_codes"]) for item in body["improper_data"]
    }
    assert items == {
        2: ("This row is duplicated in file", {"numeric": ["duplicate_in_file"]}),
        3: ("This row is duplicated in file", {"numeric": ["duplicate_in_file"]}),
        4: (
            "This row is duplicated in file",
            {"customer_info:customer_id": ["duplicate_in_file"]},
        ),
    }
    assert Contact.objects.count() == 1


def test_duplicates_across_chunks_are_found(process, agents, settings):
    settings.CONTACTLOAD_CHUNK_ROWS = 2
    rows = [{"numeric": f"987654321{i % 3}"} for i in range(7)]
    body = process({"campaign": "Sales", "bulk_data": rows})
    assert [item["row"] for item in body["improper_data"]] == [4, 5, 6, 7]
    assert Contact.objects.count() == 3
    assert (body["inserted"], body["rejected"]) == (3, 4)


def test_numbers_and_unique_values_already_in_the_campaign(process, agents):
    process({"campaign": "Sales", "bulk_data": [{**GOOD}]})
    rows = [
        {**GOOD, "numeric": "09876543210", "customer_info:customer_id": "NEW"},
        {**GOOD, "numeric": "9876543299", "customer_info:customer_id": "C-1"},
    ]
    body = process({"campaign": "Sales", "bulk_data": rows})
    items = {item["row"]: item["description"] for item in body["improper_data"]}
    assert items == {
        1: "contact with this numeric value is already exist in Sales campaign",
        2: "contact with this customer_info:customer_id value is already exist in Sales campaign",
    }
    assert Contact.objects.count() == 1


def test_campaign_allowing_duplicates_stores_the_number_again(process, agents, campaign):
    campaign.duplicates = "allow"
    campaign.save()
    process({"campaign": "Sales", "bulk_data": [{"numeric": "9876543210"}]})
    body = process({"campaign": "Sales", "bulk_data": [{"numeric": "9876543210"}]})
    assert body["status"] == "Completed"
    assert Contact.objects.filter(numeric="+919876543210").count() == 2


def test_every_message_of_a_row_is_reported(process, agents):
    _body, item = one_row(
        process, numeric="123", user="ghost", email="bad", priority="x", **{"loan:amount": "1.5"}
    )
    assert item["description"] == (
        "Enter Valid Number, This user is not present in our database, "
        "Enter Valid Email Address, Enter Valid priority, Expected  1.5 in integer format"
    )
    assert item["error_codes"] == {
        "numeric": ["invalid_number"],
        "user": ["user_not_found"],
        "email": ["invalid_email"],
        "priority": ["invalid_priority"],
        "loan:amount": ["invalid_type"],
    }


def test_good_rows_are_written_when_others_are_rejected(process, agents):
    rows = [
        {**GOOD, "numeric": "9876543210", "customer_info:customer_id": "A"},
        {**GOOD, "numeric": "bad", "customer_info:customer_id": "B"},
        {**GOOD, "numeric": "9876543212", "customer_info:customer_id": "C"},
    ]
    body = process({"campaign": "Sales", "bulk_data": rows})
    assert body["status"] == "Invalid Data"
    assert [item["row"] for item in body["improper_data"]] == [2]
    assert sorted(Contact.objects.values_list("uniqueid", flat=True)) == ["A", "C"]
    assert (body["total"], body["inserted"], body["rejected"], body["progress"]) == (3, 2, 1, 100)


def test_numbers_sent_as_json_numbers_are_accepted(process, campaign):
    process({"campaign": "Sales", "bulk_data": [{"numeric": 9876543210, "loan:amount": 5}]})
    contact = Contact.objects.get()
    assert contact.numeric == "+919876543210"
    assert contact.customer_raw_data["loan"]["amount"] == 5


def test_nul_bytes_are_rejected_and_the_row_is_reported(process, campaign):
    body = process(
        {"campaign": "Sales", "bulk_data": [{"numeric": "9876543210", "first_name": "a\x00b"}]}
    )
    assert body["improper_data"][0]["description"] == "Expected a text value"
    assert not Contact.objects.exists()


# Characters the database's bulk formats treat specially (COPY's text format escapes
# them), and text that looks like its NULL marker.
SPECIAL_TEXTS = ["a\tb", "back\\slash", "\\N", "two\nlines", "cr\rhere", "bell\b\v\ff", "ünï “q”"]


def test_text_with_the_bulk_formats_special_characters_is_stored_as_sent(process, agents):
    rows = [
        {
            **GOOD,
            "numeric": f"98765432{index:02d}",
            "first_name": text,
            "last_name": f"{text}!",
            "loan:notes": text,
            "customer_info:customer_id": f"id {text}",
        }
        for index, text in enumerate(SPECIAL_TEXTS)
    ]
    rows.append({**GOOD, "numeric": "bad", "loan:notes": "tab\there \\N", "first_name": "\\"})
    body = process({"campaign": "Sales", "bulk_data": rows})
    assert body["inserted"] == len(SPECIAL_TEXTS)
    stored = Contact.objects.order_by("numeric")
    assert [
        (c.first_name, c.last_name, c.customer_raw_data["loan"]["notes"], c.uniqueid)
        for c in stored
    ] == [(text, f"{text}!", text, f"id {text}") for text in SPECIAL_TEXTS]
    rejected = RowResult.objects.get()
    assert (rejected.data["loan:notes"], rejected.data["first_name"]) == ("tab\there \\N", "\\")
    assert body["improper_data"][0]["loan:notes"] == "tab\there \\N"
