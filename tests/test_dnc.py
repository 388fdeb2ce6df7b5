"""CONTRACT 5.4 through HTTP: upload-dnc and remove-dnc with Flexydial's exact bodies,
all-or-nothing batches, canonical numbers, who may change which list, the contacts an
entry takes out of dialling, and that uploads honour the lists (CONTRACT 3.1)."""

import time

import orjson
import pytest
from rest_framework.test import APIClient

from contactload.models import Campaign, Contact, DncEntry, Phonebook, Role
from contactload.tokens import issue_token
from tests.conftest import make_user

ADD, REMOVE = "/api/upload-dnc/", "/api/remove-dnc/"
ADDED = {"detail": "Data processed successfully"}
REMOVED = {"detail": "DNC numbers removed successfully"}
FORBIDDEN = {"detail": "You do not have permission to perform this action."}
NUMBER = "+919876543210"  # canonical of the "9876543210" used throughout


def client_for(user=None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.credentials(HTTP_AUTHORIZATION=f"Token {issue_token(user)}")
    return client


def ok(response) -> dict:
    assert response.status_code == 200, response.content
    return response.json()


def entries() -> set[tuple]:
    return set(DncEntry.objects.values_list("numeric", "campaign__name", "active"))


def item(numeric="9876543210", campaign="", global_dnc=None, status="Active") -> dict:
    if global_dnc is None:
        global_dnc = "false" if campaign else "true"
    return {"numeric": numeric, "campaign": campaign, "global_dnc": global_dnc, "status": status}


@pytest.fixture
def admin(db):
    return make_user("boss", Role.ADMIN)


@pytest.fixture
def boss(admin):
    return client_for(admin)


@pytest.fixture
def support(db):
    return Campaign.objects.create(name="Support", country="IN")


def add_contact(campaign, numeric=NUMBER, status="NotDialed") -> Contact:
    phonebook, _ = Phonebook.objects.get_or_create(name=f"{campaign.name}-pb", campaign=campaign)
    return Contact.objects.create(
        campaign=campaign, phonebook=phonebook, numeric=numeric, status=status
    )


# --- adding ---


def test_flexydials_documented_request_lists_both_numbers(boss, campaign):
    response = boss.post(
        ADD,
        [
            {"numeric": "6300868437", "campaign": "", "global_dnc": "true", "status": "Inactive"},
            {
                "numeric": "6300868438",
                "campaign": "Sales",
                "global_dnc": "false",
                "status": "Active",
            },
        ],
        format="json",
    )
    assert response.status_code == 200
    assert response.json() == ADDED
    assert entries() == {("+916300868437", None, False), ("+916300868438", "Sales", True)}


def test_json_booleans_and_omitted_fields_are_read_as_flexydial_means_them(boss, campaign):
    response = boss.post(
        ADD,
        [
            {"numeric": "9876543210", "global_dnc": True},
            {"numeric": 9876543211},  # no campaign: the global list, Active
            {"numeric": "9876543212", "campaign": "Sales", "global_dnc": False},
            {"numeric": "9876543213", "campaign": "Sales", "status": "inactive"},
        ],
        format="json",
    )
    assert response.json() == ADDED
    assert entries() == {
        (NUMBER, None, True),
        ("+919876543211", None, True),
        ("+919876543212", "Sales", True),
        ("+919876543213", "Sales", False),
    }


def test_a_listed_number_is_refused_quoting_it_as_sent_and_nothing_is_added(boss, campaign):
    DncEntry.objects.create(numeric=NUMBER)
    response = boss.post(
        ADD, [item("9876543211"), item("+91 98765 43210"), item("9876543212")], format="json"
    )
    assert response.status_code == 409
    assert response.json() == {"detail": "DNC number +91 98765 43210 already exists."}
    assert entries() == {(NUMBER, None, True)}


def test_an_inactive_entry_still_exists(boss, campaign):
    DncEntry.objects.create(numeric=NUMBER, campaign=campaign, active=False)
    response = boss.post(ADD, [item(campaign="Sales")], format="json")
    assert response.status_code == 409
    assert response.json() == {"detail": "DNC number 9876543210 already exists."}


def test_each_list_is_its_own_a_number_may_be_on_several(boss, campaign, support):
    DncEntry.objects.create(numeric=NUMBER, campaign=support)
    response = boss.post(ADD, [item(), item(campaign="Sales")], format="json")
    assert response.json() == ADDED
    assert entries() == {(NUMBER, None, True), (NUMBER, "Sales", True), (NUMBER, "Support", True)}


def test_spellings_of_one_number_are_one_entry(boss, campaign):
    spellings = ["9876543210", "+91 98765 43210", "09876543210", "(98765) 43210", "919876543210"]
    response = boss.post(ADD, [item(n) for n in spellings], format="json")
    assert response.json() == ADDED
    assert entries() == {(NUMBER, None, True)}
    again = boss.post(ADD, [item("098765-43210")], format="json")
    assert again.status_code == 409
    assert again.json() == {"detail": "DNC number 098765-43210 already exists."}


def test_a_campaigns_numbers_are_read_in_its_country(boss, campaign):
    Campaign.objects.create(name="Dubai", country="AE")
    response = boss.post(ADD, [item("050 123 4567", campaign="Dubai")], format="json")
    assert response.json() == ADDED
    assert entries() == {("+971501234567", "Dubai", True)}


def test_the_global_list_reads_numbers_in_the_default_country(boss, campaign, settings):
    settings.CONTACTLOAD_DEFAULT_COUNTRY = "AE"
    assert boss.post(ADD, [item("0501234567")], format="json").json() == ADDED
    assert entries() == {("+971501234567", None, True)}


def test_one_number_twice_with_different_status_is_refused(boss, campaign):
    response = boss.post(
        ADD, [item("9876543211"), item(), item("09876543210", status="Inactive")], format="json"
    )
    assert response.status_code == 400
    assert response.json() == {
        "detail": "DNC number 09876543210 is given twice for one list with different "
        "status (items 2 and 3)"
    }
    assert not DncEntry.objects.exists()


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"numeric": "9876543210"}, "Invalid request structure"),
        ([], "Invalid request structure"),
        ([item(), "9876543211"], "Invalid request structure"),
        ([item(), {"campaign": "Sales"}], "Invalid item 2: numeric must be a non-empty string"),
        ([item(), item(numeric=" ")], "Invalid item 2: numeric must be a non-empty string"),
        ([item(numeric=True)], "Invalid item 1: numeric must be a non-empty string"),
        ([item(campaign=5)], "Invalid item 1: campaign must be a campaign name or empty"),
        ([item(global_dnc="yes")], 'Invalid item 1: global_dnc must be "true" or "false"'),
        ([item(global_dnc=1)], 'Invalid item 1: global_dnc must be "true" or "false"'),
        ([item(status="Paused")], 'Invalid item 1: status must be "Active" or "Inactive"'),
        (
            [item(global_dnc="false")],
            'Invalid item 1: campaign is required unless global_dnc is "true"',
        ),
        (
            [item(campaign="Sales", global_dnc="true")],
            "Invalid item 1: a global_dnc entry names no campaign",
        ),
        ([item(), item(campaign="Nope")], "Campaign Nope is not Present"),
        ([item(), item("12345"), item("abc")], "Invalid number 12345 at item 2"),
    ],
)
def test_a_bad_item_is_named_and_nothing_of_the_batch_is_applied(boss, campaign, body, message):
    contact = add_contact(campaign)
    response = boss.post(ADD, body, format="json")
    assert response.status_code == 400
    assert response.json() == {"detail": message}
    assert not DncEntry.objects.exists()
    contact.refresh_from_db()
    assert contact.status == "NotDialed"


def test_a_body_that_is_not_json_is_refused(boss, campaign):
    response = boss.generic("POST", ADD, b"[{", content_type="application/json")
    assert response.status_code == 400
    assert response.json()["detail"].startswith("Invalid JSON: ")


def test_request_limits_answer_413(boss, campaign, settings):
    settings.CONTACTLOAD_MAX_DNC_ITEMS = 2
    response = boss.post(ADD, [item("9876543211"), item("9876543212"), item()], format="json")
    assert response.status_code == 413
    assert response.json() == {"detail": "Too many items: 3 (limit 2)"}
    settings.CONTACTLOAD_MAX_BODY_BYTES = 50
    response = boss.post(ADD, [item()], format="json")
    assert response.status_code == 413
    assert response.json() == {"detail": "Request body too large (limit 50 bytes)"}
    assert not DncEntry.objects.exists()


def test_dnc_requests_are_rate_limited_per_token(boss, campaign, settings):
    settings.CONTACTLOAD_RATES = {"uploads": "2/min", "status": "1000/min"}
    codes = [boss.post(ADD, [item(f"987654321{i}")], format="json").status_code for i in range(3)]
    assert codes == [200, 200, 429]
    assert DncEntry.objects.count() == 2


# --- who may change which list ---


@pytest.mark.parametrize(
    ("who", "body", "status"),
    [
        ("admin", [item()], 200),
        ("admin", [item(campaign="Support")], 200),
        ("manager", [item(campaign="Sales")], 200),
        ("manager", [item()], 403),
        ("manager", [item(campaign="Support")], 403),
        ("manager", [item("9876543211", campaign="Sales"), item()], 403),
        ("agent", [item(campaign="Sales")], 403),
    ],
)
def test_admins_change_any_list_managers_only_their_campaigns(
    admin, manager, agents, support, who, body, status
):
    user = {"admin": admin, "manager": manager, "agent": agents[0]}[who]
    response = client_for(user).post(ADD, body, format="json")
    assert response.status_code == status
    assert response.json() == (ADDED if status == 200 else FORBIDDEN)
    assert DncEntry.objects.count() == (len(body) if status == 200 else 0)
    removal = client_for(user).post(REMOVE, body, format="json")
    assert removal.status_code == status
    assert removal.json() == (REMOVED if status == 200 else FORBIDDEN)
    assert not DncEntry.objects.exists()


@pytest.mark.parametrize("url", [ADD, REMOVE])
def test_no_token_is_401(campaign, url):
    response = client_for().post(url, [item()], format="json")
    assert response.status_code == 401
    assert response.json() == {"detail": "Authentication credentials were not provided."}


# --- removing ---


def test_removing_takes_numbers_off_and_any_spelling_will_do(boss, campaign):
    ok(boss.post(ADD, [item(), item("9876543211", campaign="Sales")], format="json"))
    response = boss.post(
        REMOVE,
        [{"numeric": "+91 98765 43210"}, {"numeric": "09876543211", "campaign": "Sales"}],
        format="json",
    )
    assert response.status_code == 200
    assert response.json() == REMOVED
    assert not DncEntry.objects.exists()


def test_removing_an_unlisted_number_removes_nothing(boss, campaign):
    DncEntry.objects.create(numeric=NUMBER)
    response = boss.post(
        REMOVE, [{"numeric": "9876543210"}, {"numeric": "9876543211"}], format="json"
    )
    assert response.status_code == 404
    assert response.json() == {"detail": "DNC number 9876543211 does not exist."}
    assert entries() == {(NUMBER, None, True)}


def test_removal_scope_is_the_campaign_the_global_list_or_every_list(boss, campaign, support):
    for list_ in (None, campaign, support):
        DncEntry.objects.create(numeric=NUMBER, campaign=list_)
    assert boss.post(REMOVE, [item(campaign="Sales")], format="json").json() == REMOVED
    assert entries() == {(NUMBER, None, True), (NUMBER, "Support", True)}
    ok(boss.post(REMOVE, [{"numeric": NUMBER, "global_dnc": "true"}], format="json"))
    assert entries() == {(NUMBER, "Support", True)}
    gone = boss.post(REMOVE, [{"numeric": NUMBER, "campaign": "Sales"}], format="json")
    assert gone.status_code == 404
    DncEntry.objects.create(numeric=NUMBER, campaign=campaign)
    DncEntry.objects.create(numeric=NUMBER)
    assert boss.post(REMOVE, [{"numeric": "9876543210"}], format="json").json() == REMOVED
    assert not DncEntry.objects.exists()


def test_a_manager_removing_without_a_campaign_reaches_only_its_campaigns(
    manager, campaign, support
):
    for list_ in (None, campaign, support):
        DncEntry.objects.create(numeric=NUMBER, campaign=list_)
    response = client_for(manager).post(REMOVE, [{"numeric": "9876543210"}], format="json")
    assert response.json() == REMOVED
    assert entries() == {(NUMBER, None, True), (NUMBER, "Support", True)}
    again = client_for(manager).post(REMOVE, [{"numeric": "9876543210"}], format="json")
    assert again.status_code == 404
    assert again.json() == {"detail": "DNC number 9876543210 does not exist."}


# --- contacts and uploads ---


def test_an_active_entry_marks_its_lists_not_yet_dialled_contacts(boss, campaign, support):
    sales, other = add_contact(campaign), add_contact(support)
    dialled = add_contact(campaign, "+919876543211", status="Dialed")
    ok(boss.post(ADD, [item(campaign="Sales")], format="json"))
    sales.refresh_from_db()
    other.refresh_from_db()
    assert (sales.status, other.status) == ("Dnc", "NotDialed")
    ok(boss.post(ADD, [item(), item("9876543211")], format="json"))
    other.refresh_from_db()
    dialled.refresh_from_db()
    assert (other.status, dialled.status) == ("Dnc", "Dialed")
    # Removal does not put them back: whether to dial them again is the dialer's call.
    ok(boss.post(REMOVE, [{"numeric": "9876543210"}], format="json"))
    assert set(Contact.objects.values_list("status", flat=True)) == {"Dnc", "Dialed"}


def test_an_inactive_entry_marks_nothing(boss, campaign):
    contact = add_contact(campaign)
    ok(boss.post(ADD, [item(status="Inactive")], format="json"))
    contact.refresh_from_db()
    assert contact.status == "NotDialed"


def uploaded(process, numbers: list[str]) -> list[str]:
    """Each number's outcome in a Sales upload: "" when inserted, else its messages."""
    rows = [{"numeric": n, "customer_info:customer_id": f"C-{n}"} for n in numbers]
    body = process({"campaign": "Sales", "bulk_data": rows})
    rejected = {r["numeric"]: r["description"] for r in body.get("improper_data", [])}
    return [rejected.get(n, "") for n in numbers]


def test_uploads_honour_the_lists_until_a_number_is_removed(boss, process, campaign):
    body = [item("9876543210"), item("9876543211", campaign="Sales"), item("9876543212")]
    body[2]["status"] = "Inactive"
    assert boss.post(ADD, body, format="json").json() == ADDED
    numbers = ["+91 98765 43210", "09876543211", "9876543212"]
    assert uploaded(process, numbers) == [
        "This number is blocked globally",
        "This number is blocked in this campaign",
        "",
    ]
    assert ok(boss.post(REMOVE, [{"numeric": n} for n in numbers[:2]], format="json")) == REMOVED
    assert uploaded(process, numbers[:2]) == ["", ""]
    assert Contact.objects.filter(campaign=campaign, status="NotDialed").count() == 3


# --- scale ---


@pytest.mark.slow
def test_100000_numbers_take_a_handful_of_queries(boss, campaign, django_assert_max_num_queries):
    add_contact(campaign, "+919000000007")
    numbers = [str(9_000_000_000 + i) for i in range(100_000)]
    body = [item(n, campaign="Sales" if i % 2 else "") for i, n in enumerate(numbers)]
    started = time.monotonic()
    with django_assert_max_num_queries(30):
        response = boss.post(ADD, body, format="json")
    assert response.json() == ADDED
    assert DncEntry.objects.count() == 100_000
    assert DncEntry.objects.filter(campaign=campaign).count() == 50_000
    assert Contact.objects.get().status == "Dnc"
    with django_assert_max_num_queries(30):
        removal = boss.post(REMOVE, [{"numeric": n} for n in numbers], format="json")
    assert removal.json() == REMOVED
    assert not DncEntry.objects.exists()
    assert time.monotonic() - started < 60


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_concurrent_requests_list_each_number_once_and_refuse_whole_batches(live_server):
    from concurrent.futures import ThreadPoolExecutor

    from tests.test_idempotency import live_post

    token = issue_token(make_user("boss", Role.ADMIN))
    sets = [range(i * 1_500, i * 1_500 + 3_000) for i in range(8)]  # each overlaps the next
    bodies = [orjson.dumps([item(f"9{n:09d}") for n in numbers]) for numbers in sets]
    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(
            pool.map(lambda i: live_post(live_server.url + ADD, token, bodies[i], "-"), range(8))
        )
    assert {status for status, _body in answers} <= {200, 409}, answers
    assert all(
        body == ADDED if status == 200 else body["detail"].endswith(" already exists.")
        for status, body in answers
    )
    accepted = [
        numbers for numbers, (status, _) in zip(sets, answers, strict=True) if status == 200
    ]
    assert accepted
    stored = list(DncEntry.objects.values_list("numeric", flat=True))
    assert sorted(stored) == sorted(f"+919{n:09d}" for numbers in accepted for n in numbers)
