"""The shop's couriers: created by staff with a token of their own, available when they say.

A courier's token is a fulfiller token (`ft_...`, shown once, stored hashed) that sees no
order until a delivery is assigned to the courier; then it reads that order (contacts
masked), talks in its thread and posts the delivery's progress, until
DELIVERY_COURIER_THREAD_HOURS after the delivery ended.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from backoffice import task_names
from backoffice.exceptions import ValidationFailed
from backoffice.jobs import enqueue_after_commit
from backoffice.sql import fetch, table
from delivery.locks import couriers_lock
from delivery.models import Courier, DeliveryOffer
from inventory.models import Warehouse
from orders.courier_access.services import TOKEN_PREFIX, fulfiller_token_issue
from orders.models import FulfillerAccess


def courier_create(
    *,
    name: str,
    warehouses: Iterable[Warehouse],
    expires_at: datetime | None = None,
    actor: str = "",
) -> tuple[Courier, str]:
    """A courier of these stores; returns it with its token, shown this once."""
    warehouses = list(warehouses)
    if not warehouses:
        raise ValidationFailed({"warehouses": ["Name the stores the courier picks up from."]})
    expires_at = expires_at or timezone.now() + timedelta(days=settings.COURIER_TOKEN_DAYS)
    with transaction.atomic():
        access, raw = fulfiller_token_issue(
            name=name, expires_at=expires_at, hours_after_completion=0, actor=actor
        )
        courier = Courier.objects.create(access=access)
        courier.warehouses.set(warehouses)
    return courier, raw


def _aware(moment: datetime | None) -> datetime | None:
    """SQLite hands written-out queries naive UTC times; PostgreSQL, aware ones."""
    if moment is None or timezone.is_aware(moment):
        return moment
    return timezone.make_aware(moment, UTC)


def courier_authenticate(*, raw: str) -> Courier | None:
    """The courier of a valid token (not revoked, not expired, active), in one query."""
    if not raw.startswith(TOKEN_PREFIX) or len(raw) > 200:
        return None
    digest = hashlib.sha256(raw.encode()).hexdigest()
    # Written out: every courier request comes this way (a position every few seconds).
    rows = fetch(
        "SELECT a.token_hash, a.id, a.name, a.expires_at, a.revoked_at, "  # noqa: S608
        "c.id, c.active, c.available, c.available_since, c.missed_offers "
        f"FROM {table(Courier)} c JOIN {table(FulfillerAccess)} a ON a.id = c.access_id "
        "WHERE a.token_hash = %s",
        [digest],
    )
    if not rows or not hmac.compare_digest(rows[0][0], digest):
        return None
    _, access_id, name, expires_at, revoked_at, courier_id, active, available, since, missed = rows[
        0
    ]
    access = FulfillerAccess(
        pk=access_id,
        name=name,
        token_hash=digest,
        expires_at=_aware(expires_at),
        revoked_at=_aware(revoked_at),
    )
    courier = Courier(
        pk=courier_id,
        access=access,
        active=bool(active),
        available=bool(available),
        available_since=_aware(since),
        missed_offers=missed,
    )
    if not courier.active or access.revoked_at is not None or access.expires_at <= timezone.now():
        return None
    access._courier = courier
    return courier


def courier_availability_set(*, courier: Courier, available: bool) -> Courier:
    """Going available queues an offer of the oldest waiting delivery of the courier's stores;
    going unavailable withdraws an open offer (it goes to the next courier)."""
    now = timezone.now()
    with transaction.atomic():
        courier = couriers_lock([courier.pk])[courier.pk]
        if available and not courier.available:
            courier.available, courier.available_since = True, now
            enqueue_after_commit(task_names.COURIER_DISPATCH, courier.pk)
        elif not available:
            courier.available, courier.available_since = False, None
            # Offers come after the courier in the lock order; the delivery (before it) is
            # left `offered` and the dispatcher, after commit, queues it for the next courier.
            withdrawn = list(
                DeliveryOffer.objects.filter(
                    courier=courier, status=DeliveryOffer.Status.PENDING
                ).values_list("delivery_id", flat=True)
            )
            DeliveryOffer.objects.filter(
                courier=courier, status=DeliveryOffer.Status.PENDING
            ).update(status=DeliveryOffer.Status.WITHDRAWN, answered_at=now)
            for delivery_id in withdrawn:
                enqueue_after_commit(task_names.DELIVERY_DISPATCH, delivery_id)
        courier.missed_offers = 0
        courier.save(update_fields=["available", "available_since", "missed_offers"])
    return courier
