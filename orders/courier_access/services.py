"""Fulfiller access: a courier's least-privilege token for the orders they deliver.

The token (`ft_` + 256 random bits) is shown once and stored hashed. It reads only the
orders it is assigned, with the customer's email hidden and phone masked but the
address shown (a courier needs it), talks in their threads, and posts status updates
(a system message and a timeline row; fulfillment state is not touched). It stops
working at `expires_at`, and for each order `hours_after_completion` after the order
was completed or cancelled.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import OuterRef, Q, QuerySet, Subquery
from django.utils import timezone

from backoffice.exceptions import ValidationFailed
from orders.events import order_events_write
from orders.messages.services import message_post
from orders.models import FulfillerAccess, Order, OrderEvent, OrderMessage

TOKEN_PREFIX = "ft_"  # noqa: S105 (a prefix, not a secret)
COURIER_STATUSES = {
    "picked_up": "Picked up by the courier",
    "in_transit": "In transit",
    "out_for_delivery": "Out for delivery",
    "delivery_attempted": "Delivery attempted",
    "delayed": "Delayed",
    "delivered": "Delivered",
}


def _hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def fulfiller_access_create(
    *,
    name: str,
    orders: list[Order],
    expires_at: datetime | None = None,
    hours_after_completion: int = 48,
    actor: str = "",
) -> tuple[FulfillerAccess, str]:
    """Create a token for `orders`; returns it with the full token, shown this once.

    `expires_at` defaults to FULFILLER_ACCESS_DAYS from now.
    """
    name = (name or "").strip()
    errors: dict[str, list[str]] = {}
    if not name:
        errors["name"] = ["Give the courier a display name."]
    if not orders:
        errors["orders"] = ["Assign at least one order."]
    expires_at = expires_at or timezone.now() + timedelta(days=settings.FULFILLER_ACCESS_DAYS)
    if expires_at <= timezone.now():
        errors["expires_at"] = ["Must be in the future."]
    if hours_after_completion < 0:
        errors["hours_after_completion"] = ["Zero or more."]
    if errors:
        raise ValidationFailed(errors)
    with transaction.atomic():
        access, raw = fulfiller_token_issue(
            name=name,
            expires_at=expires_at,
            hours_after_completion=hours_after_completion,
            actor=actor,
        )
        access.orders.set(orders)
    return access, raw


def fulfiller_token_issue(
    *, name: str, expires_at: datetime, hours_after_completion: int = 48, actor: str = ""
) -> tuple[FulfillerAccess, str]:
    """A new token with no orders yet (the delivery app's couriers get theirs this way);
    returns it with the full token, shown this once."""
    name = (name or "").strip()
    if not name:
        raise ValidationFailed({"name": ["Give the courier a display name."]})
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    access = FulfillerAccess.objects.create(
        name=name[:200],
        prefix=raw[:10],
        token_hash=_hash(raw),
        expires_at=expires_at,
        hours_after_completion=hours_after_completion,
        created_by=actor,
    )
    return access, raw


def fulfiller_access_revoke(*, access: FulfillerAccess) -> FulfillerAccess:
    if access.revoked_at is None:
        access.revoked_at = timezone.now()
        access.save(update_fields=["revoked_at"])
    return access


def fulfiller_orders(*, access: FulfillerAccess, now: datetime | None = None) -> QuerySet[Order]:
    """The orders the token may still see: assigned, and not closed too long ago."""
    now = now or timezone.now()
    cutoff = now - timedelta(hours=access.hours_after_completion)
    completed_at = (
        OrderEvent.objects.filter(order=OuterRef("pk"), type=OrderEvent.Type.COMPLETED)
        .order_by("-created_at")
        .values("created_at")[:1]
    )
    return (
        Order.objects.filter(fulfiller_accesses=access)
        .annotate(completed_at=Subquery(completed_at))
        .filter(Q(completed_at__isnull=True) | Q(completed_at__gt=cutoff))
        .filter(Q(cancelled_at__isnull=True) | Q(cancelled_at__gt=cutoff))
        .select_related("channel")
        .prefetch_related("lines")
        .order_by("id")
    )


def fulfiller_access_authenticate(*, raw: str) -> FulfillerAccess | None:
    """The access for a token, if it is valid now: not revoked, not expired, and with at
    least one order it may still see. None otherwise."""
    if not raw.startswith(TOKEN_PREFIX) or len(raw) > 200:
        return None
    digest = _hash(raw)
    access = FulfillerAccess.objects.filter(token_hash=digest).first()
    if access is None or not hmac.compare_digest(access.token_hash, digest):
        return None
    if access.revoked_at is not None or access.expires_at <= timezone.now():
        return None
    if not fulfiller_orders(access=access).exists():
        return None
    return access


def fulfiller_status_post(
    *, access: FulfillerAccess, order: Order, status: str, note: str = "", tracking_url: str = ""
) -> OrderMessage:
    """A courier's update: a timeline row and a system message in the thread."""
    if status not in COURIER_STATUSES:
        raise ValidationFailed({"status": [f"Use one of {', '.join(COURIER_STATUSES)}."]})
    note = (note or "").strip()[:1000]
    body = f"{COURIER_STATUSES[status]}." + (f" {note}" if note else "")
    with transaction.atomic():
        message = message_post(
            order=order,
            role=OrderMessage.Role.SYSTEM,
            author_name=access.name,
            author_ref=access.actor,
            body=body,
            attachments=[tracking_url] if tracking_url else [],
        )
        data = {"status": status, "note": note, "tracking_url": tracking_url, "by": access.name}
        order_events_write(
            order=order, types=[OrderEvent.Type.COURIER_UPDATE], actor=access.actor, data=data
        )
    return message


def phone_mask(phone: str) -> str:
    """Only the last two digits of a phone number, e.g. "*********78"."""
    digits = [character for character in phone or "" if character.isdigit()]
    if not digits:
        return ""
    return "*" * max(0, len(digits) - 2) + "".join(digits[-2:])
