"""A staff user's scope and refund limit: the rules about people, not about orders."""

from __future__ import annotations

from decimal import Decimal

from backoffice.money import money_format
from backoffice.scopes import Scope
from backoffice.staff_policy import RefundNotAllowed
from staff.models import StaffProfile
from staff.roles import OWNER


def is_owner(user) -> bool:
    return bool(user.is_superuser) or user.groups.filter(name=OWNER).exists()


def staff_scope(user) -> Scope:
    """Owners see everything; others what their profile names; nobody else anything."""
    if not (user.is_active and user.is_staff):
        return Scope.nothing()
    if is_owner(user):
        return Scope.everything()
    profile = StaffProfile.objects.filter(user=user).first()
    if profile is None:
        return Scope.nothing()
    channels = (
        None if profile.all_channels else frozenset(profile.channels.values_list("pk", flat=True))
    )
    warehouses = (
        None
        if profile.all_warehouses
        else frozenset(profile.warehouses.values_list("pk", flat=True))
    )
    return Scope(channel_ids=channels, warehouse_ids=warehouses)


def staff_refund_check(user, currency: str, amount: Decimal) -> None:
    """Refuse (RefundNotAllowed) a refund the staff member may not give: without the
    refund permission, or above their limit in that currency. Owners have no limit."""
    if not user.has_perm("orders.refund_order"):
        raise RefundNotAllowed("Your role does not allow refunds.")
    if is_owner(user):
        return
    limits = {limit.currency: limit.amount for limit in user.refund_limits.all()}
    if not limits:
        return
    limit = limits.get(currency)
    if limit is None:
        raise RefundNotAllowed(f"You have no refund limit in {currency}: ask an owner.")
    if amount > limit:
        raise RefundNotAllowed(
            f"You may refund at most {money_format(limit, currency)} at once; "
            f"this is {money_format(amount, currency)}. Ask an owner."
        )
