"""The Django admin through HTTP: every page of every registered model loads for a
superuser and none for anyone else; tokens are listed and revoked without their
digest ever shown; big changelists cost the same queries for ten rows or thousands."""

import pytest
from django.contrib import admin
from django.contrib.admin.models import DELETION, LogEntry
from django.contrib.admin.utils import quote
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import connections
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import NoReverseMatch, reverse
from knox.models import AuthToken
from rest_framework.test import APIClient

from contactload.admin import CappedPaginator
from contactload.models import (
    Campaign,
    Contact,
    CrmField,
    DncEntry,
    Membership,
    Phonebook,
    Profile,
    Role,
    RowResult,
    UploadJob,
)
from contactload.tokens import issue_token
from tests.conftest import make_user, run_worker

MODELS = sorted(admin.site._registry, key=lambda model: model._meta.label)


def url(model, page: str, *pks) -> str:
    name = f"admin:{model._meta.app_label}_{model._meta.model_name}_{page}"
    return reverse(name, args=[quote(pk) for pk in pks])


@pytest.fixture
def boss(db):
    return get_user_model().objects.create_superuser("boss", "boss@example.com", "pw")


@pytest.fixture
def browser(boss) -> Client:
    client = Client()
    client.force_login(boss)
    return client


@pytest.fixture
def everything(process, agents):
    """At least one object of every registered model, made the way production makes them."""
    process({"campaign": "Sales", "bulk_data": [{"numeric": "9876543210"}, {"numeric": "4"}]})
    DncEntry.objects.create(numeric="+919876500000")
    Group.objects.create(name="supervisors")


@pytest.mark.parametrize("model", MODELS, ids=lambda model: model._meta.label)
def test_every_changelist_add_and_change_page_loads_for_a_superuser(browser, everything, model):
    assert browser.get(url(model, "changelist")).status_code == 200
    model_admin = admin.site._registry[model]
    request = browser.get(url(model, "changelist")).wsgi_request
    if model_admin.has_add_permission(request):
        assert browser.get(url(model, "add")).status_code == 200
    else:
        assert browser.get(url(model, "changelist") + "add/").status_code in (403, 404)
    instance = model.objects.first()
    assert instance is not None
    try:
        change = url(model, "change", instance.pk)
    except NoReverseMatch:
        assert model is AuthToken  # tokens have a list and nothing else
        return
    assert browser.get(change).status_code == 200


@pytest.mark.parametrize("page", ["/admin/", "/admin/contactload/contact/"])
def test_a_user_who_is_not_staff_is_sent_to_log_in(manager, page):
    client = Client()
    client.force_login(manager)
    response = client.get(page)
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


def test_the_token_list_shows_prefix_and_owner_but_never_the_digest(browser, manager):
    issue_token(manager)
    token = AuthToken.objects.get(user=manager)
    page = browser.get(url(AuthToken, "changelist")).content.decode()
    assert token.token_key in page
    assert "crm_push" in page
    assert token.digest not in page


def test_revoking_a_token_deletes_it_and_it_stops_working(browser, manager, campaign):
    kept, revoked = issue_token(manager), issue_token(manager)
    key = revoked[:15]
    response = browser.post(
        url(AuthToken, "changelist"),
        {"action": "revoke", "_selected_action": [key], "index": "0"},
        follow=True,
    )
    assert "Revoked 1 token(s)." in response.content.decode()
    (entry,) = LogEntry.objects.all()
    assert (entry.object_repr, entry.action_flag) == (f"token {key}… of crm_push", DELETION)
    assert list(AuthToken.objects.values_list("token_key", flat=True)) == [kept[:15]]
    status = "/api/bulkphonebookupload/status/x/"
    assert APIClient(HTTP_AUTHORIZATION=f"Token {revoked}").get(status).status_code == 401
    assert APIClient(HTTP_AUTHORIZATION=f"Token {kept}").get(status).status_code == 404


def test_deleting_a_user_lists_its_tokens_by_prefix_not_digest(browser, manager):
    issue_token(manager)
    token = AuthToken.objects.get(user=manager)
    response = browser.get(url(get_user_model(), "delete", manager.pk))
    assert response.status_code == 200
    page = response.content.decode()
    assert f"{token.token_key}…" in page
    assert token.digest not in page


def test_a_user_page_edits_role_and_campaigns(browser, manager):
    response = browser.get(url(get_user_model(), "change", manager.pk))
    inlines = [formset.formset.model for formset in response.context["inline_admin_formsets"]]
    assert inlines == [Profile, Membership]
    listing = browser.get(url(get_user_model(), "changelist"), {"profile__role": "manager"})
    assert [user.username for user in listing.context["cl"].result_list] == ["crm_push"]


def test_a_campaign_page_edits_its_crm_fields_and_members(browser, manager, campaign):
    response = browser.get(url(Campaign, "change", campaign.pk))
    formsets = {f.formset.model: f for f in response.context["inline_admin_formsets"]}
    assert set(formsets) == {CrmField, Membership}
    fields = set(formsets[CrmField].formset.forms[0].fields)
    assert {"type", "size", "choices", "unique"} <= fields
    assert formsets[CrmField].formset.queryset.count() == 11


def make_contacts(campaign, count: int, start: int = 0) -> Phonebook:
    phonebook = Phonebook.objects.create(name=f"bulk-{start}", campaign=campaign)
    Contact.objects.bulk_create(
        (
            Contact(
                campaign=campaign,
                phonebook=phonebook,
                numeric=f"+9198{index:08}",
                dedupe_key=f"+9198{index:08}",
            )
            for index in range(start, start + count)
        ),
        batch_size=2000,
    )
    return phonebook


def changelist_queries(browser, model, params=None) -> tuple[int, object]:
    with CaptureQueriesContext(connections["default"]) as captured:
        response = browser.get(url(model, "changelist"), params or {})
    assert response.status_code == 200
    return len(captured), response.context["cl"]


def test_the_contact_list_costs_the_same_queries_for_10_or_5000_contacts(
    browser, campaign, agents, django_assert_max_num_queries
):
    make_contacts(campaign, 10)
    few, _ = changelist_queries(browser, Contact)
    make_contacts(campaign, 4990, start=10)
    with django_assert_max_num_queries(few):
        _many, changelist = changelist_queries(browser, Contact)
    assert isinstance(changelist.paginator, CappedPaginator)
    assert changelist.result_count == 5000
    assert len(changelist.result_list) == 100


def test_the_contact_count_stops_at_the_cap(browser, campaign, monkeypatch):
    monkeypatch.setattr(CappedPaginator, "cap", 1000)
    make_contacts(campaign, 1500)
    _queries, changelist = changelist_queries(browser, Contact)
    assert changelist.result_count == 1000
    assert changelist.full_result_count is None  # no unbounded COUNT either


def test_the_job_list_costs_the_same_queries_for_10_or_2000_jobs(
    browser, campaign, django_assert_max_num_queries
):
    def make_jobs(count):
        UploadJob.objects.bulk_create(UploadJob(campaign=campaign, total=4) for _ in range(count))

    make_jobs(10)
    few, _ = changelist_queries(browser, UploadJob)
    make_jobs(1990)
    with django_assert_max_num_queries(few):
        _many, changelist = changelist_queries(browser, UploadJob)
    assert changelist.result_count == 2000


def test_contacts_are_found_by_any_spelling_of_their_number(browser, campaign):
    make_contacts(campaign, 20)
    _queries, changelist = changelist_queries(browser, Contact, {"q": "098 0000 0007"})
    assert [contact.numeric for contact in changelist.result_list] == ["+919800000007"]


def test_contacts_filter_by_phonebook_agent_and_status(browser, campaign, agents):
    book = make_contacts(campaign, 5)
    Contact.objects.filter(numeric="+919800000001").update(user=agents[0], status="Dialed")
    _queries, changelist = changelist_queries(
        browser, Contact, {"phonebook": book.pk, "agent": agents[0].pk, "status": "Dialed"}
    )
    assert [contact.numeric for contact in changelist.result_list] == ["+919800000001"]


def test_a_job_page_is_read_only_and_shows_its_first_rejected_rows(browser, upload, boss):
    response = upload({"campaign": "Sales", "bulk_data": [{"numeric": "4"}] * 150})
    job = UploadJob.objects.get(pk=response.json()["job_id"])
    run_worker()
    assert RowResult.objects.filter(job=job).count() == 150
    page = browser.get(url(UploadJob, "change", job.pk))
    assert page.status_code == 200
    (rows,) = page.context["inline_admin_formsets"]
    assert [form.instance.row for form in rows.formset.forms] == list(range(1, 101))
    assert reverse("job-improper-data-csv", args=[job.pk]) in page.content.decode()
    assert not page.context["has_change_permission"]
    refused = browser.post(url(UploadJob, "change", job.pk), {"state": "queued"})
    assert refused.status_code == 403
    assert UploadJob.objects.get(pk=job.pk).state == "completed"


def test_the_user_list_shows_roles(browser, manager, agents):
    make_user("lead", Role.ADMIN)
    page = browser.get(url(get_user_model(), "changelist")).content.decode()
    for role in ("manager", "agent", "admin"):
        assert f'<td class="field-role">{role}</td>' in page
