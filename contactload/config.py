"""Declarative configuration (spec/CONFIG.md): campaigns, CRM fields, users, memberships.

``load_config`` checks the whole YAML or JSON file, then applies it in one transaction.
Re-applying changes nothing; what the file does not name is never deleted. Any problem
raises ``ConfigError(file, path, problem)`` and leaves the database as it was.
"""

import json
from collections.abc import Hashable
from dataclasses import astuple, dataclass
from pathlib import Path
from typing import NoReturn

import phonenumbers
import yaml
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import identify_hasher
from django.contrib.auth.validators import UnicodeUsernameValidator
from django.core.exceptions import ValidationError
from django.db import transaction

from contactload.errors import ConfigError
from contactload.models import Campaign, CrmField, Membership, Profile, Role

TYPES = tuple(CrmField.Type.values)
TYPE_ALIASES = {
    "datefield": "date",
    "datetimefield": "datetime",
    "timefield": "time",
    "dropdown": "choice",
    "radio": "choice",
}
SIZED_TYPES = ("text", "textarea")
TOP_KEYS = ("campaigns", "users")
CAMPAIGN_KEYS = ("name", "country", "duplicates", "active", "crm_fields")
FIELD_KEYS = ("type", "size", "unique", "choices", "options")
USER_KEYS = ("username", "password", "password_hash", "role", "campaigns")
FILE = "(file)"  # the path of problems with the file as a whole


@dataclass(frozen=True, slots=True)
class FieldSpec:
    section: str
    name: str
    type: str
    size: int | None
    choices: list[str]
    unique: bool


@dataclass(frozen=True, slots=True)
class CampaignSpec:
    name: str
    country: str
    duplicates: str
    active: bool
    fields: tuple[FieldSpec, ...] | None  # None: the file does not list crm_fields


@dataclass(frozen=True, slots=True)
class UserSpec:
    username: str
    role: str
    password: str | None
    password_hash: str | None
    campaigns: tuple[str, ...]


@dataclass(slots=True)
class ConfigSummary:
    campaigns_created: int = 0
    campaigns_updated: int = 0
    fields_created: int = 0
    fields_updated: int = 0
    users_created: int = 0
    users_updated: int = 0
    memberships_created: int = 0

    def __str__(self) -> str:
        c_new, c_upd, f_new, f_upd, u_new, u_upd, m_new = astuple(self)
        return (
            f"campaigns: {c_new} created, {c_upd} updated; "
            f"CRM fields: {f_new} created, {f_upd} updated; "
            f"users: {u_new} created, {u_upd} updated; memberships: {m_new} created"
        )


def load_config(path: str | Path) -> ConfigSummary:
    """Apply the configuration file at ``path``; all of it or, on a problem, none."""
    path = Path(path)
    reader = _Reader(str(path))
    campaigns, users = reader.document(_parse(path))
    with transaction.atomic():
        reader.check_campaigns_exist(campaigns, users)
        return _apply(campaigns, users)


class _StrictLoader(yaml.SafeLoader):
    """``yaml.safe_load``, except that a key given twice is an error, not the last one wins."""

    def construct_mapping(self, node, deep=False):
        seen = set()
        for key_node, _value in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node, deep=deep)
            if isinstance(key, Hashable) and key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"key {key!r} is given twice", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def _unique_pairs(pairs: list) -> dict:
    keys = [key for key, _value in pairs]
    if len(set(keys)) != len(keys):
        raise ValueError(f"key {next(k for k in keys if keys.count(k) > 1)!r} is given twice")
    return dict(pairs)


def _parse(path: Path) -> object:
    file, suffix = str(path), path.suffix.lower()
    if suffix not in (".yaml", ".yml", ".json"):
        raise ConfigError(file, FILE, "expected a .yaml, .yml or .json file")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeError) as exc:
        raise ConfigError(file, FILE, f"cannot read it: {exc}") from None
    if suffix == ".json":
        try:
            return json.loads(text, object_pairs_hook=_unique_pairs)
        except json.JSONDecodeError as exc:
            where = f"line {exc.lineno}, column {exc.colno}"
            raise ConfigError(file, where, f"invalid JSON: {exc.msg}") from None
        except ValueError as exc:
            raise ConfigError(file, FILE, f"invalid JSON: {exc}") from None
    try:
        return yaml.load(text, Loader=_StrictLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else FILE
        raise ConfigError(file, where, f"invalid YAML: {exc.problem}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(file, FILE, f"invalid YAML: {exc}") from None


def _kind(value: object) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return str(value).lower()
    return {dict: "a mapping", list: "a list"}.get(type(value), repr(value))


class _Reader:
    """Checks raw parsed data and turns it into specs; raises on the first problem."""

    def __init__(self, file: str):
        self.file = file

    def fail(self, path: str, problem: str) -> NoReturn:
        raise ConfigError(self.file, path or "(top level)", problem)

    def mapping(self, value, path: str, allowed: tuple[str, ...]) -> dict:
        if not isinstance(value, dict):
            self.fail(
                path, f"expected a mapping with keys {', '.join(allowed)}, got {_kind(value)}"
            )
        for key in value:
            if key not in allowed:
                at = f"{path}.{key}" if path else str(key)
                self.fail(at, f"unknown key {key!r}; expected one of {', '.join(allowed)}")
        return value

    def required(self, raw: dict, key: str, path: str):
        if key not in raw:
            self.fail(f"{path}.{key}", "is required")
        return raw[key]

    def text(self, value, path: str, max_length: int, what: str = "name") -> str:
        if not isinstance(value, str) or not value.strip():
            self.fail(path, f"expected a {what} (a non-empty string), got {_kind(value)}")
        if len(value) > max_length:
            self.fail(path, f"{what} is longer than {max_length} characters")
        return value

    def one_of(self, value, path: str, allowed) -> str:
        if value not in allowed:
            self.fail(path, f"expected one of {', '.join(allowed)}, got {_kind(value)}")
        return value

    def boolean(self, value, path: str) -> bool:
        if not isinstance(value, bool):
            self.fail(path, f"expected true or false, got {_kind(value)}")
        return value

    def items(self, value, path: str) -> list:
        if not isinstance(value, list):
            self.fail(path, f"expected a list, got {_kind(value)}")
        return value

    def document(self, raw) -> tuple[list[CampaignSpec], list[UserSpec]]:
        raw = self.mapping(raw, "", TOP_KEYS)
        campaigns = [
            self.campaign(item, f"campaigns[{i}]")
            for i, item in enumerate(self.items(raw.get("campaigns", []), "campaigns"))
        ]
        users = [
            self.user(item, f"users[{i}]")
            for i, item in enumerate(self.items(raw.get("users", []), "users"))
        ]
        for kind, specs, attr in (("campaign", campaigns, "name"), ("user", users, "username")):
            first_at: dict[str, int] = {}
            for i, spec in enumerate(specs):
                name = getattr(spec, attr)
                if name in first_at:
                    self.fail(f"{kind}s[{i}].{attr}", f"{name} is also {kind}s[{first_at[name]}]")
                first_at[name] = i
        return campaigns, users

    def campaign(self, raw, path: str) -> CampaignSpec:
        raw = self.mapping(raw, path, CAMPAIGN_KEYS)
        name = self.text(self.required(raw, "name", path), f"{path}.name", 100)
        country = raw.get("country", "IN")
        if not isinstance(country, str) or country.upper() not in phonenumbers.SUPPORTED_REGIONS:
            hint = " (quote it: YAML reads a bare NO as false)" if country is False else ""
            self.fail(
                f"{path}.country", f"expected an ISO 3166 alpha-2 code, got {_kind(country)}{hint}"
            )
        duplicates = raw.get("duplicates", Campaign.Duplicates.REJECT)
        return CampaignSpec(
            name=name,
            country=country.upper(),
            duplicates=self.one_of(duplicates, f"{path}.duplicates", Campaign.Duplicates.values),
            active=self.boolean(raw.get("active", True), f"{path}.active"),
            fields=self.fields(raw["crm_fields"], f"{path}.crm_fields")
            if "crm_fields" in raw
            else None,
        )

    def fields(self, raw, path: str) -> tuple[FieldSpec, ...]:
        if not isinstance(raw, dict):
            self.fail(path, f"expected a mapping of sections, got {_kind(raw)}")
        specs, unique_at = [], None
        for section, section_fields in raw.items():
            section_path = f"{path}.{section}"
            self.header_part(section, section_path, "section name")
            if not isinstance(section_fields, dict):
                self.fail(
                    section_path, f"expected a mapping of fields, got {_kind(section_fields)}"
                )
            for name, raw_field in section_fields.items():
                field_path = f"{section_path}.{name}"
                self.header_part(name, field_path, "field name")
                spec = self.field(section, name, raw_field, field_path)
                if spec.unique:
                    if unique_at:
                        problem = f"at most one unique field per campaign; {unique_at} is unique"
                        self.fail(f"{field_path}.unique", problem)
                    unique_at = f"{section}:{name}"
                specs.append(spec)
        return tuple(specs)

    def header_part(self, value, path: str, what: str) -> None:
        self.text(value, path, 100, what)
        if ":" in value:
            self.fail(path, f'{what} {value!r} contains ":", which separates section and field')

    def field(self, section: str, name: str, raw, path: str) -> FieldSpec:
        raw = self.mapping(raw, path, FIELD_KEYS)
        word = self.required(raw, "type", path)
        type_ = TYPE_ALIASES.get(word, word) if isinstance(word, str) else None
        if type_ not in TYPES:
            known = ", ".join(TYPES + tuple(TYPE_ALIASES))
            self.fail(f"{path}.type", f"unknown field type {_kind(word)}; expected one of {known}")
        size = raw.get("size")
        if size is not None and type_ not in SIZED_TYPES:
            self.fail(f"{path}.size", "size applies only to text and textarea fields")
        if size is not None and (isinstance(size, bool) or not isinstance(size, int) or size < 1):
            self.fail(f"{path}.size", f"expected a positive whole number, got {_kind(size)}")
        if "choices" in raw and "options" in raw:
            self.fail(f"{path}.options", "give choices or options, not both")
        key = "options" if "options" in raw else "choices"
        if type_ != "choice" and key in raw:
            self.fail(f"{path}.{key}", f"{key} apply only to choice fields")
        choices = (
            self.choices(self.required(raw, key, path), f"{path}.{key}")
            if type_ == "choice"
            else []
        )
        unique = self.boolean(raw.get("unique", False), f"{path}.unique")
        return FieldSpec(section, name, type_, size, choices, unique)

    def choices(self, raw, path: str) -> list[str]:
        values = self.items(raw, path)
        for i, value in enumerate(values):
            if isinstance(value, bool) or not isinstance(value, str | int | float) or value == "":
                self.fail(f"{path}[{i}]", f"expected a non-empty string, got {_kind(value)}")
        choices = [str(value) for value in values]
        if not choices or len(set(choices)) != len(choices):
            self.fail(path, "expected a non-empty list of distinct options")
        return choices

    def user(self, raw, path: str) -> UserSpec:
        raw = self.mapping(raw, path, USER_KEYS)
        username = self.text(
            self.required(raw, "username", path), f"{path}.username", 150, "username"
        )
        try:
            UnicodeUsernameValidator()(username)
        except ValidationError as exc:
            self.fail(f"{path}.username", " ".join(exc.messages))
        role = self.one_of(self.required(raw, "role", path), f"{path}.role", Role.values)
        if "password" in raw and "password_hash" in raw:
            self.fail(f"{path}.password_hash", "give password or password_hash, not both")
        password = raw.get("password")
        if "password" in raw:
            self.text(password, f"{path}.password", 4096, "password")
        password_hash = raw.get("password_hash")
        if "password_hash" in raw:
            try:
                identify_hasher(self.text(password_hash, f"{path}.password_hash", 128, "hash"))
            except ValueError:
                self.fail(f"{path}.password_hash", "not a Django password hash (algorithm$...)")
        names = self.items(raw.get("campaigns", []), f"{path}.campaigns")
        for i, name in enumerate(names):
            self.text(name, f"{path}.campaigns[{i}]", 100, "campaign name")
        return UserSpec(username, role, password, password_hash, tuple(dict.fromkeys(names)))

    def check_campaigns_exist(self, campaigns: list[CampaignSpec], users: list[UserSpec]) -> None:
        named = {spec.name for spec in campaigns}
        wanted = {name for user in users for name in user.campaigns} - named
        known = set(Campaign.objects.filter(name__in=wanted).values_list("name", flat=True))
        for i, user in enumerate(users):
            for j, name in enumerate(user.campaigns):
                if name not in named and name not in known:
                    self.fail(
                        f"users[{i}].campaigns[{j}]", f"no campaign {name} in the file or database"
                    )


def _assign(instance, values: dict) -> bool:
    """Set the attributes that differ; whether any did (unchanged rows are not saved)."""
    changed = [key for key, value in values.items() if getattr(instance, key) != value]
    for key in changed:
        setattr(instance, key, values[key])
    return bool(changed)


def _apply(campaigns: list[CampaignSpec], users: list[UserSpec]) -> ConfigSummary:
    summary = ConfigSummary()
    by_name = {spec.name: _apply_campaign(spec, summary) for spec in campaigns}
    for spec in users:
        _apply_user(spec, by_name, summary)
    return summary


def _apply_campaign(spec: CampaignSpec, summary: ConfigSummary) -> Campaign:
    values = {"country": spec.country, "duplicates": spec.duplicates, "active": spec.active}
    campaign = Campaign.objects.filter(name=spec.name).first()
    if campaign is None:
        campaign = Campaign.objects.create(name=spec.name, **values)
        summary.campaigns_created += 1
    elif _assign(campaign, values):
        campaign.save()
        summary.campaigns_updated += 1
    if spec.fields is not None:
        _apply_fields(campaign, spec.fields, summary)
    return campaign


def _apply_fields(campaign: Campaign, specs: tuple[FieldSpec, ...], summary: ConfigSummary) -> None:
    existing = {(f.section, f.name): f for f in campaign.crm_fields.order_by("position", "pk")}
    columns = ("type", "size", "choices", "unique")
    wanted = {(s.section, s.name): {c: getattr(s, c) for c in columns} for s in specs}
    file_has_unique = any(spec.unique for spec in specs)
    # Fields the file does not name are kept, after the named ones in their old order; if
    # the file names a unique field, it is the campaign's only one.
    unnamed = [key for key in existing if key not in wanted]
    for key in unnamed:
        wanted[key] = {"unique": existing[key].unique and not file_has_unique}
    for position, values in enumerate(wanted.values()):
        values["position"] = position
    # The unique field last: the one-unique-field constraint holds after every save.
    for (section, name), values in sorted(wanted.items(), key=lambda item: item[1]["unique"]):
        field = existing.get((section, name))
        if field is None:
            CrmField.objects.create(campaign=campaign, section=section, name=name, **values)
            summary.fields_created += 1
        elif _assign(field, values):
            field.save()
            summary.fields_updated += 1


def _apply_user(spec: UserSpec, campaigns: dict[str, Campaign], summary: ConfigSummary) -> None:
    user = get_user_model().objects.filter(username=spec.username).first()
    created = user is None
    if created:
        user = get_user_model()(username=spec.username)
    is_admin = spec.role == Role.ADMIN  # the Django admin needs both flags
    changed = _assign(user, {"is_staff": is_admin, "is_superuser": is_admin})
    if spec.password_hash is not None:
        changed |= _assign(user, {"password": spec.password_hash})
    elif spec.password is not None and (created or not user.check_password(spec.password)):
        user.set_password(spec.password)
        changed = True
    elif created:
        user.set_unusable_password()
    if changed or created:
        user.save()
    profile, made = Profile.objects.get_or_create(user=user, defaults={"role": spec.role})
    if not made and _assign(profile, {"role": spec.role}):
        profile.save()
        changed = True
    changed |= made  # an existing user without a profile gets one
    if created:
        summary.users_created += 1
    elif changed:
        summary.users_updated += 1
    for name in spec.campaigns:
        if name not in campaigns:
            campaigns[name] = Campaign.objects.get(name=name)
        _membership, made = Membership.objects.get_or_create(campaign=campaigns[name], user=user)
        summary.memberships_created += made
