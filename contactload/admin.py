"""The Django admin: campaigns with their CRM fields and members, users with roles and
campaigns, API tokens (listed by prefix and revoked; a digest is never shown), DNC
entries, phonebooks, contacts, and read-only upload jobs with their rejected rows and
callback attempts.
Big changelists never COUNT a whole table, and their filters run bounded queries."""

import re

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.admin.models import DELETION, LogEntry
from django.contrib.admin.utils import unquote
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.contrib.contenttypes.models import ContentType
from django.core.paginator import Paginator
from django.db.models import Q
from django.urls import path, reverse
from django.utils.functional import cached_property
from django.utils.html import format_html
from knox.models import AuthToken
from knox.settings import CONSTANTS

from contactload.access import role_of
from contactload.ingest.phones import canonical
from contactload.models import (
    CallbackAttempt,
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

User = get_user_model()


class CappedPaginator(Paginator):
    """Counts at most ``cap`` rows (past that, the last page is the cap's): a COUNT over
    millions of contacts would slow every page. Pair with ``show_full_result_count = False``."""

    cap = 10_000

    @cached_property
    def count(self) -> int:
        return self.object_list[: self.cap].count()


class BigTableAdmin(admin.ModelAdmin):
    paginator = CappedPaginator
    show_full_result_count = False


class BoundedFilter(admin.SimpleListFilter):
    """Offers the choices one bounded query finds (plus the one selected); any value
    still works through the URL, e.g. ``?phonebook=<id>`` from a phonebook's row."""

    lookup = ""  # the queryset filter the value is for

    def found(self, request) -> list[tuple[str, str]]:
        raise NotImplementedError

    def lookups(self, request, model_admin):
        choices = [(str(value), label) for value, label in self.found(request)]
        if self.value() and self.value() not in dict(choices):
            choices.append((self.value(), self.value()))
        return choices

    def queryset(self, request, queryset):
        return queryset.filter(**{self.lookup: self.value()}) if self.value() else queryset


class PhonebookFilter(BoundedFilter):
    title, parameter_name, lookup = "phonebook (latest 20)", "phonebook", "phonebook_id"

    def found(self, request):
        latest = Phonebook.objects.order_by("-created_at", "-pk")[:20]
        return latest.values_list("pk", "name")


class AgentFilter(BoundedFilter):
    title, parameter_name, lookup = "agent", "agent", "user_id"

    def found(self, request):
        agents = User.objects.filter(profile__role=Role.AGENT).order_by("username")[:100]
        return agents.values_list("pk", "username")


class StatusFilter(BoundedFilter):
    title, parameter_name, lookup = "status (in the latest 10,000)", "status", "status"

    def found(self, request):
        recent = Contact.objects.order_by("-pk").values("pk")[:10_000]
        statuses = Contact.objects.filter(pk__in=recent).values_list("status", flat=True)
        return [(status, status) for status in statuses.order_by("status").distinct()]


class NumberSearch:
    """Search by a number in any spelling (matched in canonical form) or an exact value."""

    number_field, exact_field = "numeric", ""
    search_help_text = "A phone number, in any spelling, or an exact value."

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if not term:
            return queryset, False
        countries = Campaign.objects.values_list("country", flat=True).distinct()
        numbers = {term} | {number for c in countries if (number := canonical(term, c))}
        found = Q(**{f"{self.number_field}__in": numbers})
        if self.exact_field:
            found |= Q(**{self.exact_field: term})
        return queryset.filter(found), False


class CrmFieldInline(admin.TabularInline):
    model = CrmField
    extra = 0
    fields = ["section", "name", "type", "size", "choices", "unique", "position"]


class CampaignMembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    list_display = ["name", "country", "duplicates", "active", "created_at"]
    list_filter = ["active", "duplicates", "country"]
    search_fields = ["name"]
    inlines = [CrmFieldInline, CampaignMembershipInline]


class ProfileInline(admin.StackedInline):
    model = Profile
    can_delete = False


class UserMembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["campaign"]
    verbose_name_plural = "campaigns"


DIGEST = re.compile(rf"\b[0-9a-f]{{{CONSTANTS.DIGEST_LENGTH}}}\b")


def hide_digests(items: list, prefixes: dict[str, str]) -> list:
    """The delete page's nested list, each token digest (knox's ``__str__``) replaced by
    the token's prefix. Token lines have no link, so they are plain text."""
    shown = []
    for item in items:
        if isinstance(item, list):
            item = hide_digests(item, prefixes)
        elif DIGEST.search(item):
            item = DIGEST.sub(lambda match: f"{prefixes.get(match.group(), '')}…", item)
        shown.append(item)
    return shown


admin.site.unregister(User)


@admin.register(User)
class ContactloadUserAdmin(UserAdmin):
    list_display = ["username", "role", "email", "is_active", "is_staff"]
    list_filter = ["profile__role", *UserAdmin.list_filter]
    list_select_related = ["profile"]
    inlines = [ProfileInline, UserMembershipInline]

    @admin.display(ordering="profile__role")
    def role(self, user) -> str:
        return role_of(user) or "-"

    def get_deleted_objects(self, objs, request):
        deleted, counts, perms_needed, protected = super().get_deleted_objects(objs, request)
        tokens = AuthToken.objects.filter(user__in=objs).values_list("digest", "token_key")
        return hide_digests(deleted, dict(tokens)), counts, perms_needed, protected


admin.site.unregister(AuthToken)


@admin.register(AuthToken)
class TokenAdmin(admin.ModelAdmin):
    """Tokens are picked by ``token_key`` (a lookup prefix, useless alone), never by their
    primary key, the digest: no column, link, checkbox or page shows it."""

    list_display = ["user", "token_key", "created", "expiry"]
    list_display_links = None
    list_select_related = ["user"]
    search_fields = ["^token_key", "user__username"]
    ordering = ["-created"]
    actions = ["revoke"]

    def get_urls(self):  # the list alone: change, delete and history pages title by digest
        name = f"{self.opts.app_label}_{self.opts.model_name}_changelist"
        return [path("", self.admin_site.admin_view(self.changelist_view), name=name)]

    def has_add_permission(self, request):
        return False  # a token is issued through POST /api/generate-token/ or `createtoken`

    def has_change_permission(self, request, obj=None):
        return False

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    def action_checkbox(self, token):
        attrs = {"class": "action-select", "aria-label": f"Select token {token.token_key}"}
        return forms.CheckboxInput(attrs).render(ACTION_CHECKBOX_NAME, token.token_key)

    @admin.action(description="Revoke selected tokens", permissions=["delete"])
    def revoke(self, request, queryset):
        if request.POST.get("select_across") != "1":  # the checkboxes carry token keys
            keys = request.POST.getlist(ACTION_CHECKBOX_NAME)
            queryset = self.get_queryset(request).filter(token_key__in=keys)
        kind = ContentType.objects.get_for_model(AuthToken)
        LogEntry.objects.bulk_create(  # the history names a token by prefix, as the list does
            LogEntry(
                user_id=request.user.pk,
                content_type=kind,
                object_id=key,
                object_repr=f"token {key}… of {username}",
                action_flag=DELETION,
            )
            for key, username in queryset.values_list("token_key", "user__username")
        )
        revoked, _by_model = queryset.delete()
        self.message_user(request, f"Revoked {revoked} token(s).", messages.SUCCESS)


@admin.register(DncEntry)
class DncEntryAdmin(NumberSearch, BigTableAdmin):
    list_display = ["numeric", "campaign", "active", "end_date", "created_at"]
    list_filter = ["active", "campaign"]
    list_select_related = ["campaign"]
    search_fields = ["numeric"]
    raw_id_fields = ["campaign"]


@admin.register(Phonebook)
class PhonebookAdmin(BigTableAdmin):
    list_display = ["name", "campaign", "created_by", "created_at", "contacts"]
    list_filter = ["campaign"]
    list_select_related = ["campaign", "created_by"]
    search_fields = ["=name"]
    raw_id_fields = ["campaign", "created_by"]

    @admin.display
    def contacts(self, phonebook) -> str:
        url = reverse("admin:contactload_contact_changelist")
        return format_html('<a href="{}?phonebook={}">contacts</a>', url, phonebook.pk)


@admin.register(Contact)
class ContactAdmin(NumberSearch, BigTableAdmin):
    list_display = ["numeric", "campaign", "phonebook", "user", "status", "uniqueid", "created_at"]
    list_filter = ["campaign", PhonebookFilter, AgentFilter, StatusFilter]
    list_select_related = ["campaign", "phonebook", "user"]
    search_fields = ["numeric", "uniqueid"]
    exact_field = "uniqueid"
    search_help_text = "A phone number, in any spelling, or an exact uniqueid."
    raw_id_fields = ["campaign", "phonebook", "user"]
    readonly_fields = ["dedupe_key", "created_at", "updated_at"]


class RowResultInline(admin.TabularInline):
    model = RowResult
    shown = 100
    verbose_name_plural = f"rejected rows (the first {shown}; all of them in the CSV)"
    fields = readonly_fields = ["row", "description", "data", "errors"]
    can_delete = False

    def get_queryset(self, request):
        job_id = unquote(request.resolver_match.kwargs.get("object_id", ""))
        first = RowResult.objects.filter(job_id=job_id).order_by("row").values("pk")[: self.shown]
        return super().get_queryset(request).filter(pk__in=first)

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class CallbackAttemptInline(admin.TabularInline):
    model = CallbackAttempt
    verbose_name_plural = "callback attempts"
    fields = readonly_fields = [
        "attempt",
        "started_at",
        "duration_ms",
        "status_code",
        "error",
        "next_attempt_at",
    ]
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(UploadJob)
class UploadJobAdmin(BigTableAdmin):
    list_display = [
        *("id", "campaign", "action", "state", "progress"),
        *("total", "inserted", "updated", "rejected", "created_at"),
    ]
    list_filter = ["state", "action", "campaign"]
    list_select_related = ["campaign"]
    search_fields = ["=id", "=phonebook__name"]
    fields = readonly_fields = [
        *(field.name for field in UploadJob._meta.fields),
        "progress",
        "rejected_rows_csv",
    ]
    inlines = [RowResultInline]

    def get_inlines(self, request, obj):
        # Callback attempts only on the page of a job that names a callback.
        callback = [CallbackAttemptInline] if obj is not None and obj.callback_url else []
        return [*self.inlines, *callback]

    @admin.display(description="progress %")
    def progress(self, job) -> int:
        return 100 * job.processed // job.total if job.total else 100

    @admin.display(description="all rejected rows")
    def rejected_rows_csv(self, job) -> str:
        url = reverse("job-improper-data-csv", args=[job.pk])
        return format_html('<a href="{}">improper_data.csv</a>', url) if job.rejected else "-"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
