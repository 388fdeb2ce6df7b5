"""A campaign's rules as plain data: headers it accepts, its CRM fields, country and
duplicate policy. Loaded once per request or job; everything downstream is pure."""

from collections.abc import Iterable
from dataclasses import dataclass

from contactload.models import Campaign, CrmField

# Headers every campaign accepts, besides its CRM fields (CONTRACT 2.1).
STANDARD_HEADERS = (
    "numeric",
    "user",
    "alt_numeric",
    "first_name",
    "last_name",
    "email",
    "priority",
)


@dataclass(frozen=True, slots=True)
class FieldRule:
    header: str  # section:name
    section: str
    name: str
    type: str
    size: int | None
    choices: tuple[str, ...]
    unique: bool


@dataclass(frozen=True, slots=True)
class CampaignRules:
    id: int
    name: str
    country: str
    rejects_duplicates: bool
    fields: tuple[FieldRule, ...]

    @property
    def crm_headers(self) -> tuple[str, ...]:
        return tuple(field.header for field in self.fields)

    @property
    def unique_field(self) -> FieldRule | None:
        return next((field for field in self.fields if field.unique), None)

    def accepted_headers(self, action: str = "insert") -> tuple[str, ...]:
        """The header line of the campaign's sample CSV for ``action``."""
        return STANDARD_HEADERS + self.crm_headers

    def is_reference(self, header: str) -> bool:
        """Whether an update may find contacts by ``header``."""
        return header == "numeric" or header in self.crm_headers


def load_rules(campaign: Campaign) -> CampaignRules:
    return rules_from(campaign, campaign.crm_fields.order_by("position", "id"))


def rules_from(campaign: Campaign, fields: Iterable[CrmField]) -> CampaignRules:
    """The rules of ``campaign`` with ``fields`` in display order (no query of its own
    when they are prefetched)."""
    return CampaignRules(
        id=campaign.pk,
        name=campaign.name,
        country=campaign.country,
        rejects_duplicates=campaign.rejects_duplicates,
        fields=tuple(
            FieldRule(
                header=field.header,
                section=field.section,
                name=field.name,
                type=field.type,
                size=field.size,
                choices=tuple(str(choice) for choice in field.choices),
                unique=field.unique,
            )
            for field in fields
        ),
    )
