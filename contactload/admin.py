"""The Django admin for campaign admins: campaigns and their fields, people,
DNC lists, jobs and the rows they rejected. Tokens are listed and revoked
through knox's own admin (only digests are shown)."""

from django.contrib import admin

from contactload.models import (
    Campaign,
    Contact,
    CrmField,
    DncEntry,
    Membership,
    Phonebook,
    Profile,
    RowResult,
    UploadJob,
)


class CrmFieldInline(admin.TabularInline):
    model = CrmField
    extra = 0


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    list_display = ["name", "country", "duplicates", "active", "created_at"]
    list_filter = ["active", "duplicates", "country"]
    search_fields = ["name"]
    inlines = [CrmFieldInline, MembershipInline]


@admin.register(Profile)
class ProfileAdmin(admin.ModelAdmin):
    list_display = ["user", "role"]
    list_filter = ["role"]
    search_fields = ["user__username"]


@admin.register(Phonebook)
class PhonebookAdmin(admin.ModelAdmin):
    list_display = ["name", "campaign", "created_by", "created_at"]
    list_filter = ["campaign"]
    search_fields = ["name"]


@admin.register(Contact)
class ContactAdmin(admin.ModelAdmin):
    list_display = ["numeric", "campaign", "phonebook", "user", "status", "uniqueid"]
    list_filter = ["campaign", "status"]
    search_fields = ["numeric", "uniqueid"]
    raw_id_fields = ["phonebook", "user"]
    show_full_result_count = False


@admin.register(DncEntry)
class DncEntryAdmin(admin.ModelAdmin):
    list_display = ["numeric", "campaign", "active", "end_date"]
    list_filter = ["active", "campaign"]
    search_fields = ["numeric"]


class RowResultInline(admin.TabularInline):
    model = RowResult
    extra = 0
    can_delete = False
    readonly_fields = ["row", "data", "errors"]
    max_num = 0


@admin.register(UploadJob)
class UploadJobAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "campaign",
        "action",
        "state",
        "total",
        "inserted",
        "rejected",
        "created_at",
    ]
    list_filter = ["state", "action", "campaign"]
    search_fields = ["id", "phonebook__name"]
    readonly_fields = [field.name for field in UploadJob._meta.fields]
    inlines = [RowResultInline]
