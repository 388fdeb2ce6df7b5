"""``load-config``, ``createtoken`` and ``demo-banner`` through the command line,
asserting on what they print and on the database."""

import io
import json
import os
import re
import shlex
import sqlite3
import subprocess
import sys
from pathlib import Path

import phonenumbers
import pytest
import yaml
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.core.management import call_command
from django.core.management.base import CommandError
from knox.models import AuthToken

from contactload.api.authentication import TokenAuthentication
from contactload.models import Campaign, CrmField, Membership, Profile

DEMO = Path(__file__).resolve().parent.parent / "contactload" / "demo" / "demo.yaml"
CONTACTLOAD = Path(sys.executable).parent / "contactload"

# The example of spec/CONFIG.md, verbatim.
SPEC_EXAMPLE = """\
campaigns:
  - name: Sales                 # unique; what uploads name in "campaign"
    country: IN                 # ISO 3166 alpha-2, default IN
    duplicates: reject          # reject (default) | allow
    active: true
    crm_fields:                 # sections, in display order
      customer_info:            # section name (no ":" allowed)
        customer_id: {type: text, size: 30, unique: true}   # at most one unique field per campaign
        name:        {type: text, size: 100}
        dob:         {type: date}
      loan:
        amount:      {type: integer}
        rate:        {type: float}
        product:     {type: choice, choices: [home, car, personal]}
        due_at:      {type: datetime}
        slot:        {type: time}
        notes:       {type: textarea, size: 500}

users:
  - username: crm_push          # an API user
    password: change-me         # or password_hash: <Django hash>
    role: manager               # admin | manager | agent
    campaigns: [Sales]
  - username: agent1
    role: agent
    campaigns: [Sales]
"""

SPEC_FIELDS = [
    # header, type, size, choices, unique
    ("customer_info:customer_id", "text", 30, [], True),
    ("customer_info:name", "text", 100, [], False),
    ("customer_info:dob", "date", None, [], False),
    ("loan:amount", "integer", None, [], False),
    ("loan:rate", "float", None, [], False),
    ("loan:product", "choice", None, ["home", "car", "personal"], False),
    ("loan:due_at", "datetime", None, [], False),
    ("loan:slot", "time", None, [], False),
    ("loan:notes", "textarea", 500, [], False),
]


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def load(path: Path) -> str:
    out = io.StringIO()
    call_command("load_config", str(path), stdout=out)
    return out.getvalue()


def snapshot() -> dict:
    """Every row the configuration touches, every column (password hashes, timestamps)."""
    models = (Campaign, CrmField, get_user_model(), Profile, Membership)
    return {model.__name__: list(model.objects.order_by("pk").values()) for model in models}


def fields_of(campaign_name: str) -> list[tuple]:
    return [
        (field.header, field.type, field.size, field.choices, field.unique)
        for field in CrmField.objects.filter(campaign__name=campaign_name).order_by("position")
    ]


def members_of(campaign_name: str) -> set[tuple[str, str]]:
    return {
        (m.user.username, m.user.profile.role)
        for m in Membership.objects.filter(campaign__name=campaign_name).select_related("user")
    }


def assert_spec_example_applied() -> None:
    sales = Campaign.objects.get()
    assert (sales.name, sales.country, sales.duplicates, sales.active) == (
        "Sales",
        "IN",
        "reject",
        True,
    )
    assert fields_of("Sales") == SPEC_FIELDS
    assert members_of("Sales") == {("crm_push", "manager"), ("agent1", "agent")}
    users = get_user_model().objects
    assert users.get(username="crm_push").check_password("change-me")
    assert not users.get(username="agent1").has_usable_password()


@pytest.mark.django_db
def test_spec_example_yaml_creates_campaign_fields_users_and_memberships(tmp_path):
    out = load(write(tmp_path, "sales.yaml", SPEC_EXAMPLE))
    assert_spec_example_applied()
    assert "campaigns: 1 created" in out
    assert "CRM fields: 9 created" in out
    assert "users: 2 created" in out
    assert "memberships: 2 created" in out


@pytest.mark.django_db
def test_spec_example_as_json_applies_the_same(tmp_path):
    load(write(tmp_path, "sales.json", json.dumps(yaml.safe_load(SPEC_EXAMPLE))))
    assert_spec_example_applied()


@pytest.mark.django_db
def test_loading_twice_changes_nothing_the_second_time(tmp_path):
    path = write(tmp_path, "sales.yaml", SPEC_EXAMPLE)
    load(path)
    before = snapshot()
    out = load(path)
    assert snapshot() == before
    assert out.strip().endswith(
        "campaigns: 0 created, 0 updated; CRM fields: 0 created, 0 updated; "
        "users: 0 created, 0 updated; memberships: 0 created"
    )


@pytest.mark.django_db
def test_edited_file_updates_named_things_and_keeps_the_rest(tmp_path):
    load(write(tmp_path, "sales.yaml", SPEC_EXAMPLE))
    edited = (
        SPEC_EXAMPLE.replace("size: 30, unique: true", "size: 40")
        .replace("[home, car, personal]", "[home, car, gold]")
        .replace("duplicates: reject", "duplicates: allow")
        .replace("        dob:         {type: date}\n", "")
        .replace("    password: change-me ", "    password: new-secret ")
        .replace("role: agent", "role: admin")
        .replace(
            "        rate:        {type: float}", "        rate:        {type: float, unique: true}"
        )
    )
    out = load(write(tmp_path, "sales.yaml", edited))
    sales = Campaign.objects.get()
    assert sales.duplicates == "allow"
    assert fields_of("Sales") == [
        ("customer_info:customer_id", "text", 40, [], False),
        ("customer_info:name", "text", 100, [], False),
        ("loan:amount", "integer", None, [], False),
        ("loan:rate", "float", None, [], True),
        ("loan:product", "choice", None, ["home", "car", "gold"], False),
        ("loan:due_at", "datetime", None, [], False),
        ("loan:slot", "time", None, [], False),
        ("loan:notes", "textarea", 500, [], False),
        ("customer_info:dob", "date", None, [], False),  # not in the file: kept, last
    ]
    users = get_user_model().objects
    assert users.get(username="crm_push").check_password("new-secret")
    agent1 = users.get(username="agent1")
    assert (agent1.profile.role, agent1.is_staff, agent1.is_superuser) == ("admin", True, True)
    assert "campaigns: 0 created, 1 updated" in out
    assert "CRM fields: 0 created, 8 updated" in out  # all but name: dob left, the rest moved up
    assert "users: 0 created, 2 updated" in out


@pytest.mark.django_db
def test_memberships_and_fields_not_in_the_file_are_not_deleted(tmp_path, campaign, manager):
    """``campaign`` is the conftest's Sales (11 fields); ``manager`` is crm_push, a member."""
    before = sorted(fields_of("Sales"))
    text = """\
campaigns:
  - name: Sales
    crm_fields:
      loan:
        amount: {type: integer}
users:
  - {username: crm_push, role: manager}
"""
    load(write(tmp_path, "partial.yaml", text))
    assert sorted(fields_of("Sales")) == before
    assert fields_of("Sales")[0][0] == "loan:amount"
    assert Membership.objects.filter(user=manager, campaign=campaign).exists()
    assert get_user_model().objects.get(username="crm_push").check_password("secret-pw")


@pytest.mark.django_db
def test_unique_flag_can_move_to_an_earlier_field(tmp_path):
    notes_unique = SPEC_EXAMPLE.replace("size: 30, unique: true", "size: 30").replace(
        "size: 500}", "size: 500, unique: true}"
    )
    load(write(tmp_path, "a.yaml", notes_unique))
    load(write(tmp_path, "b.yaml", SPEC_EXAMPLE))
    assert fields_of("Sales") == SPEC_FIELDS


@pytest.mark.django_db
def test_unique_field_named_by_the_file_replaces_an_unnamed_one(tmp_path, campaign):
    """The conftest's Sales has customer_info:customer_id unique; the file does not name it."""
    text = (
        "campaigns:\n  - name: Sales\n"
        "    crm_fields: {loan: {amount: {type: integer, unique: true}}}\n"
    )
    load(write(tmp_path, "u.yaml", text))
    unique = CrmField.objects.filter(campaign=campaign, unique=True)
    assert [field.header for field in unique] == ["loan:amount"]
    assert CrmField.objects.filter(campaign=campaign).count() == 11


@pytest.mark.django_db
def test_flexydial_type_words_are_aliases(tmp_path):
    text = """\
campaigns:
  - name: Flexy
    crm_fields:
      info:
        born: {type: datefield}
        seen: {type: datetimefield}
        slot: {type: timefield}
        plan: {type: dropdown, options: [gold, silver]}
        tier: {type: radio, options: [a, b]}
        kind: {type: choice, options: [x]}
"""
    load(write(tmp_path, "flexy.yml", text))
    assert fields_of("Flexy") == [
        ("info:born", "date", None, [], False),
        ("info:seen", "datetime", None, [], False),
        ("info:slot", "time", None, [], False),
        ("info:plan", "choice", None, ["gold", "silver"], False),
        ("info:tier", "choice", None, ["a", "b"], False),
        ("info:kind", "choice", None, ["x"], False),
    ]


@pytest.mark.django_db
def test_admin_gets_django_admin_access_and_password_hash_is_stored_as_is(tmp_path):
    digest = make_password("from-elsewhere")
    text = f"users:\n  - {{username: boss, role: admin, password_hash: '{digest}'}}\n"
    load(write(tmp_path, "boss.yaml", text))
    boss = get_user_model().objects.get(username="boss")
    assert boss.password == digest
    assert boss.check_password("from-elsewhere")
    assert (boss.profile.role, boss.is_staff, boss.is_superuser) == ("admin", True, True)


@pytest.mark.django_db
def test_user_may_join_a_campaign_that_is_only_in_the_database(tmp_path, campaign):
    load(
        write(
            tmp_path, "agent.yaml", "users:\n  - {username: a9, role: agent, campaigns: [Sales]}\n"
        )
    )
    assert members_of("Sales") == {("a9", "agent")}


@pytest.mark.django_db
def test_existing_user_without_a_profile_gets_the_files_role(tmp_path):
    get_user_model().objects.create_user(username="old", password="kept-pw")
    out = load(write(tmp_path, "old.yaml", "users:\n  - {username: old, role: manager}\n"))
    old = get_user_model().objects.get(username="old")
    assert old.profile.role == "manager"
    assert old.check_password("kept-pw")
    assert "users: 0 created, 1 updated" in out


@pytest.mark.django_db
def test_demo_configuration_defines_one_campaign_a_manager_and_two_agents():
    load(DEMO)
    demo = Campaign.objects.get()
    assert (demo.name, demo.country, demo.duplicates) == ("Demo", "IN", "reject")
    assert fields_of("Demo") == [
        ("customer_info:customer_id", "text", 30, [], True),
        ("customer_info:name", "text", 100, [], False),
        ("loan:amount", "integer", None, [], False),
        ("loan:product", "choice", None, ["home", "car", "personal"], False),
        ("loan:due_on", "date", None, [], False),
    ]
    assert members_of("Demo") == {
        ("demo_manager", "manager"),
        ("demo_agent1", "agent"),
        ("demo_agent2", "agent"),
    }
    assert get_user_model().objects.get(username="demo_manager").check_password("demo-password")


VALID_CAMPAIGN = "  - {name: First, crm_fields: {s: {f: {type: text}}}}\n"

BAD_FILES = [
    # id, file name, text, the path the message must name
    (
        "bad type",
        "c.yaml",
        "campaigns:\n  - name: X\n    crm_fields: {loan: {amount: {type: money}}}\n",
        "campaigns[0].crm_fields.loan.amount.type",
    ),
    (
        "two unique fields",
        "c.yaml",
        "campaigns:\n  - name: X\n    crm_fields:\n"
        "      a: {one: {type: text, unique: true}}\n"
        "      b: {two: {type: text, unique: true}}\n",
        "campaigns[0].crm_fields.b.two.unique",
    ),
    (
        "colon in section",
        "c.yaml",
        "campaigns:\n  - name: X\n    crm_fields: {'a:b': {f: {type: text}}}\n",
        "campaigns[0].crm_fields.a:b",
    ),
    (
        "colon in field",
        "c.json",
        '{"campaigns": [{"name": "X", "crm_fields": {"a": {"f:g": {"type": "text"}}}}]}',
        "campaigns[0].crm_fields.a.f:g",
    ),
    (
        "unknown role",
        "c.yaml",
        "campaigns:\n" + VALID_CAMPAIGN + "users:\n  - {username: u, role: boss}\n",
        "users[0].role",
    ),
    (
        "unknown campaign in a user",
        "c.yaml",
        "campaigns:\n"
        + VALID_CAMPAIGN
        + "users:\n  - {username: u, role: agent, campaigns: [First, Nowhere]}\n",
        "users[0].campaigns[1]",
    ),
    (
        "unknown key",
        "c.yaml",
        "campaigns:\n  - {name: X, colour: red}\n",
        "campaigns[0].colour",
    ),
    ("bad country", "c.yaml", "campaigns:\n  - {name: X, country: XX}\n", "campaigns[0].country"),
    (
        "size not positive",
        "c.yaml",
        "campaigns:\n  - {name: X, crm_fields: {s: {f: {type: text, size: 0}}}}\n",
        "campaigns[0].crm_fields.s.f.size",
    ),
    (
        "second campaign invalid",
        "c.yaml",
        "campaigns:\n" + VALID_CAMPAIGN + "  - {name: Second, duplicates: sometimes}\n",
        "campaigns[1].duplicates",
    ),
    ("malformed YAML", "c.yaml", "campaigns:\n  - name: [X\n", "line 3"),
    ("malformed JSON", "c.json", '{"campaigns": [}', "line 1, column 16"),
    ("key given twice", "c.yaml", "campaigns:\n  - name: X\n    name: Y\n", "line 3"),
]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("name", "text", "path"), [case[1:] for case in BAD_FILES], ids=[case[0] for case in BAD_FILES]
)
def test_bad_file_names_file_and_path_and_changes_nothing(tmp_path, campaign, name, text, path):
    before = snapshot()
    bad = write(tmp_path, name, text)
    with pytest.raises(CommandError) as caught:
        load(bad)
    message = str(caught.value)
    assert message.startswith(f"{bad}: {path}")
    assert snapshot() == before
    assert not Campaign.objects.filter(name__in=["First", "X"]).exists()


def test_cli_load_config_in_a_real_process_applies_the_file_once(tmp_path):
    env = {**os.environ, "CONTACTLOAD_VAR_DIR": str(tmp_path)}
    env.pop("DATABASE_URL", None)  # the process's own SQLite file in tmp_path

    def contactload(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [str(CONTACTLOAD), *args], env=env, capture_output=True, text=True, timeout=120
        )

    assert contactload("migrate", "--noinput").returncode == 0
    first = contactload("load-config", str(write(tmp_path, "sales.yaml", SPEC_EXAMPLE)))
    again = contactload("load-config", str(tmp_path / "sales.yaml"))
    bad = contactload("load-config", str(write(tmp_path, "bad.yaml", "users: [{username: u}]\n")))
    assert first.returncode == 0, first.stderr
    assert "campaigns: 1 created, 0 updated; CRM fields: 9 created" in first.stdout
    assert "campaigns: 0 created, 0 updated; CRM fields: 0 created, 0 updated" in again.stdout
    assert bad.returncode == 1
    assert f"{tmp_path / 'bad.yaml'}: users[0].role: is required" in bad.stderr
    with sqlite3.connect(tmp_path / "contactload.sqlite3") as db:
        assert db.execute("SELECT name FROM contactload_campaign").fetchall() == [("Sales",)]
        assert db.execute("SELECT count(*) FROM contactload_crmfield").fetchone() == (9,)
        assert db.execute("SELECT count(*) FROM contactload_membership").fetchone() == (2,)


@pytest.mark.django_db
def test_createtoken_prints_a_working_token_stored_only_as_a_hash(manager):
    out = io.StringIO()
    call_command("createtoken", "crm_push", stdout=out)
    token = out.getvalue().removesuffix("\n")
    assert out.getvalue() == token + "\n"
    assert "\n" not in token
    stored = AuthToken.objects.get(user=manager)
    assert stored.token_key == token[:15]
    assert token not in {str(value) for value in AuthToken.objects.values().get().values()}
    user, _auth = TokenAuthentication().authenticate_credentials(token.encode())
    assert user == manager


@pytest.mark.django_db
def test_createtoken_for_unknown_user_fails():
    with pytest.raises(CommandError, match=r"^User nobody does not exist$"):
        call_command("createtoken", "nobody")
    assert not AuthToken.objects.exists()


@pytest.mark.django_db
def test_demo_banner_prints_token_and_curl_commands_for_the_port():
    load(DEMO)
    out = io.StringIO()
    call_command("demo_banner", "--port", "8123", stdout=out)
    banner = out.getvalue()
    token = re.search(r"Authorization: Token (\S+)'", banner).group(1)
    user, _auth = TokenAuthentication().authenticate_credentials(token.encode())
    assert user.username == "demo_manager"
    upload = next(line for line in banner.splitlines() if line.startswith("curl -sS -X POST"))
    assert "http://127.0.0.1:8123/api/bulkphonebookupload/v1/" in upload
    body_line = next(line for line in banner.splitlines() if line.strip().startswith("-d "))
    body = json.loads(shlex.split(body_line)[1])
    assert body["campaign"] == "Demo"
    assert len(body["bulk_data"]) == 3
    assert len({frozenset(row) for row in body["bulk_data"]}) == 1  # uniform rows
    assert "customer_info:customer_id" in body["bulk_data"][0]
    for row in body["bulk_data"]:
        assert phonenumbers.is_valid_number(phonenumbers.parse(row["numeric"], "IN"))
    assert 'http://127.0.0.1:8123/api/bulkphonebookupload/status/$JOB_ID/"' in banner


@pytest.mark.django_db
def test_demo_banner_without_demo_user_says_to_load_config_first():
    with pytest.raises(CommandError, match="load-config"):
        call_command("demo_banner")


@pytest.mark.parametrize("command", ["load_config", "createtoken", "demo_banner"])
def test_commands_have_help_text(command):
    from django.core.management import load_command_class

    assert load_command_class("contactload", command).help.strip()
