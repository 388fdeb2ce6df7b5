"""Who may do what: roles and campaign reach (CONTRACT 1)."""

from django.db.models import QuerySet

from contactload.models import Campaign, Role


def role_of(user) -> str | None:
    if user is None or not user.is_authenticated or not user.is_active:
        return None
    if user.is_superuser:
        return Role.ADMIN
    profile = getattr(user, "profile", None)
    return profile.role if profile is not None else Role.AGENT


def may_use_upload_api(user) -> bool:
    return role_of(user) in (Role.ADMIN, Role.MANAGER)


def reachable_campaigns(user) -> QuerySet[Campaign]:
    """Campaigns the user may upload to and read jobs of."""
    role = role_of(user)
    if role == Role.ADMIN:
        return Campaign.objects.all()
    if role == Role.MANAGER:
        return Campaign.objects.filter(membership__user=user)
    return Campaign.objects.none()


def may_reach(user, campaign: Campaign) -> bool:
    return reachable_campaigns(user).filter(pk=campaign.pk).exists()
