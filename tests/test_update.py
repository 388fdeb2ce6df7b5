"""CONTRACT 2.3 (updates) and 3.2 through HTTP and the real worker: the four
documented shapes, each whole-request error, per-row rules, and what changed
in the database and what did not."""

import pytest

from contactload.models import Contact, DncEntry, Phonebook, RowResult, UploadJob

URL = "/api/bulkphonebookupload/v1/"
HEADERS_MISMATCH = (
    "Headers are not matching with Campaign CRM Fields. Please refer to the sample CSV"
)
SEED = [
    {
        "numeric": f"98765432{i:02d}",
        "user": "agent1",
        "first_name": f"First{i}",
        "priority": "5",
        "customer_info:customer_id": f"C-{i}",
        "customer_info:name": "Family A" if i < 2 else f"Name {i}",
        "loan:amount": str(1000 * i),
        "loan:product": "home",
    }
    for i in range(4)
]


@pytest.fixture
def seeded(process, agents):
    body = process({"campaign": "Sales", "bulk_data": SEED})
    assert body["status"] == "Completed"
    return {c.uniqueid: c for c in Contact.objects.all()}


def update(process, reference, rows):
    return process(
        {
            "campaign": "Sales",
            "action_type": "update",
            "reference_field": reference,
            "bulk_data": rows,
        }
    )


def contact(uniqueid) -> Contact:
    return Contact.objects.get(uniqueid=uniqueid)


def test_update_success_is_201_with_the_insert_body(upload, seeded):
    response = upload(
        {
            "campaign": "Sales",
            "action_type": "update",
            "reference_field": "numeric",
            "bulk_data": [{"numeric": "9876543200", "loan:amount": "7"}],
        }
    )
    assert response.status_code == 201
    job = UploadJob.objects.get(action="update")
    assert response.json() == {
        "success": f"Reference/Phonebook Name:{job.phonebook.name}",
        "job_id": job.pk,
    }


def test_shape1_numeric_reference_changes_only_the_crm_fields_sent(process, seeded):
    before = contact("C-0")
    body = update(
        process,
        "numeric",
        [{"numeric": "+91 98765 43200", "loan:amount": "42", "loan:product": ""}],
    )
    assert body["status"] == "Completed"
    assert (body["action_type"], body["updated"], body["inserted"], body["rejected"]) == (
        "update",
        1,
        0,
        0,
    )
    after = contact("C-0")
    assert after.customer_raw_data["loan"] == {
        **before.customer_raw_data["loan"],
        "amount": 42,
        "product": None,
    }
    assert after.customer_raw_data["customer_info"] == before.customer_raw_data["customer_info"]
    assert (after.priority, after.first_name, after.user_id) == (5, "First0", before.user_id)
    assert after.updated_at > before.updated_at
    assert contact("C-1").customer_raw_data == seeded["C-1"].customer_raw_data
    assert Contact.objects.count() == 4


def test_shape2_crm_reference_changes_fields_and_the_number(process, seeded):
    body = update(
        process,
        "customer_info:customer_id",
        [
            {
                "customer_info:customer_id": "C-1",
                "numeric": "09123456789",
                "first_name": "Renamed",
                "priority": "",
            }
        ],
    )
    assert body["status"] == "Completed"
    changed = contact("C-1")
    assert (changed.numeric, changed.dedupe_key) == ("+919123456789", "+919123456789")
    assert (changed.first_name, changed.priority) == ("Renamed", None)
    assert changed.customer_raw_data == seeded["C-1"].customer_raw_data


def test_shape2_a_changed_number_is_checked_like_an_insert(process, seeded, campaign):
    DncEntry.objects.create(numeric="+919000000001")
    rows = [
        {"customer_info:customer_id": "C-0", "numeric": "12"},
        {"customer_info:customer_id": "C-1", "numeric": "9000000001"},
        {"customer_info:customer_id": "C-2", "numeric": "9876543203"},
        {"customer_info:customer_id": "C-3", "numeric": "9000000002"},
    ]
    body = update(process, "customer_info:customer_id", rows)
    assert {item["row"]: item["description"] for item in body["improper_data"]} == {
        1: "Enter Valid Number",
        2: "This number is blocked globally",
        3: "contact with this numeric value is already exist in Sales campaign",
    }
    assert contact("C-3").numeric == "+919000000002"
    for uniqueid in ("C-0", "C-1", "C-2"):
        assert contact(uniqueid).numeric == seeded[uniqueid].numeric
    assert (body["updated"], body["rejected"]) == (1, 3)


def test_shape3_reassigns_agents_and_blank_unassigns(process, seeded, agents):
    rows = [{"numeric": "9876543200", "user": "agent2"}, {"numeric": "9876543201", "user": ""}]
    body = update(process, "numeric", rows)
    assert body["status"] == "Completed"
    assert contact("C-0").user == agents[1]
    assert contact("C-1").user is None
    assert contact("C-2").user == agents[0]
    assert contact("C-0").customer_raw_data == seeded["C-0"].customer_raw_data


def test_shape3_user_must_be_an_agent_of_the_campaign(process, seeded, manager):
    rows = [
        {"numeric": "9876543200", "user": "crm_push"},
        {"numeric": "9876543201", "user": "ghost"},
    ]
    body = update(process, "numeric", rows)
    assert [item["description"] for item in body["improper_data"]] == [
        "This user is not assigned to this campaign",
        "This user is not present in our database",
    ]
    assert contact("C-0").user == seeded["C-0"].user


def test_shape4_crm_reference_updates_every_matching_contact(process, seeded, agents):
    body = update(
        process, "customer_info:name", [{"customer_info:name": "Family A", "user": "agent2"}]
    )
    assert body["status"] == "Completed"
    assert body["updated"] == 1  # one row, whatever the number of contacts it reached
    assert {c.uniqueid for c in Contact.objects.filter(user=agents[1])} == {"C-0", "C-1"}
    assert {c.uniqueid for c in Contact.objects.filter(user=agents[0])} == {"C-2", "C-3"}


def test_shape4_crm_reference_with_user_and_number(process, seeded, agents):
    body = update(
        process,
        "customer_info:name",
        [{"customer_info:name": "Name 3", "user": "agent2", "numeric": "9123400000"}],
    )
    assert body["status"] == "Completed"
    changed = contact("C-3")
    assert (changed.user, changed.numeric) == (agents[1], "+919123400000")


def test_integer_crm_reference_matches_the_stored_value(process, seeded):
    body = update(process, "loan:amount", [{"loan:amount": "2000", "first_name": "Two"}])
    assert body["status"] == "Completed"
    assert contact("C-2").first_name == "Two"


def test_unmatched_rows_are_rejected_and_never_inserted(process, seeded):
    body = update(process, "numeric", [{"numeric": "9000000009", "loan:amount": "1"}])
    assert body["improper_data"][0]["description"] == (
        "the numeric is not exist in campaign, please insert first"
    )
    assert body["improper_data"][0]["error_codes"] == {"numeric": ["reference_not_found"]}
    assert Contact.objects.count() == 4
    body = update(
        process,
        "customer_info:customer_id",
        [{"customer_info:customer_id": "nope", "loan:amount": "1"}],
    )
    assert body["improper_data"][0]["description"] == (
        "the customer_info:customer_id is not exist in campaign, please insert first"
    )


def test_blank_and_repeated_references_are_rejected(process, seeded):
    rows = [
        {"numeric": "", "loan:amount": "1"},
        {"numeric": "9876543200", "loan:amount": "2"},
        {"numeric": "+919876543200", "loan:amount": "3"},
    ]
    body = update(process, "numeric", rows)
    assert {item["row"]: item["description"] for item in body["improper_data"]} == {
        1: "the numeric should not be blank",
        3: "This row is duplicated in file",
    }
    assert contact("C-0").customer_raw_data["loan"]["amount"] == 2


def test_updated_values_get_the_insert_type_checks(process, seeded):
    rows = [{"numeric": "9876543200", "loan:amount": "lots", "email": "bad"}]
    body = update(process, "numeric", rows)
    assert body["improper_data"][0]["description"] == (
        "Expected  lots in integer format, Enter Valid Email Address"  # in column order
    )
    assert contact("C-0").customer_raw_data == seeded["C-0"].customer_raw_data


def test_changing_the_unique_field_keeps_it_unique(process, seeded):
    rows = [
        {"numeric": "9876543200", "customer_info:customer_id": "C-1"},
        {"numeric": "9876543202", "customer_info:customer_id": "C-NEW"},
    ]
    body = update(process, "numeric", rows)
    assert [item["description"] for item in body["improper_data"]] == [
        "contact with this customer_info:customer_id value is already exist in Sales campaign"
    ]
    assert Contact.objects.get(numeric="+919876543202").uniqueid == "C-NEW"
    assert Contact.objects.get(numeric="+919876543200").uniqueid == "C-0"


def update_error(api, payload):
    before = (UploadJob.objects.count(), Phonebook.objects.count())
    response = api.post(
        URL, {"campaign": "Sales", "action_type": "update", **payload}, format="json"
    )
    assert (UploadJob.objects.count(), Phonebook.objects.count()) == before
    return response.status_code, response.json()


MISSING_IN_ROWS = "reference_field - customer_info:customer_id is missing in some bulk_data item(s)"
ONLY_REFERENCE = (
    "Please provide the columns data that you want to update along with the reference_field"
)


def test_update_request_errors(api, seeded):
    rows = [{"numeric": "9876543200", "user": ""}]
    unknown = [{"customer_info:unknown": "1", "user": ""}]
    only_ref = [{"numeric": "9876543200"}]
    ragged = [*rows, {"numeric": "9876543201"}]
    cases = [
        ({"bulk_data": rows}, "reference_field is missing in the request!"),
        ({"reference_field": "customer_info:customer_id", "bulk_data": rows}, MISSING_IN_ROWS),
        (
            {"reference_field": "numeric", "bulk_data": ragged},
            "All items in bulk_data must have uniform structure",
        ),
        ({"reference_field": "numeric", "bulk_data": only_ref}, ONLY_REFERENCE),
        ({"reference_field": "customer_info:unknown", "bulk_data": unknown}, HEADERS_MISMATCH),
        ({"reference_field": "user", "bulk_data": [{"user": "a", "email": ""}]}, HEADERS_MISMATCH),
    ]
    for payload, message in cases:
        assert update_error(api, payload) == (400, {"errors": message})


def test_update_reaches_across_chunks_and_judges_repeats_over_the_upload(process, seeded, settings):
    settings.CONTACTLOAD_CHUNK_ROWS = 1
    rows = [
        {"numeric": "9876543200", "loan:amount": "10"},
        {"numeric": "9876543201", "loan:amount": "11"},
        {"numeric": "9876543200", "loan:amount": "12"},
    ]
    body = update(process, "numeric", rows)
    assert [item["row"] for item in body["improper_data"]] == [3]
    assert contact("C-0").customer_raw_data["loan"]["amount"] == 10
    assert RowResult.objects.filter(job__action="update").count() == 1
