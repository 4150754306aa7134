"""What a storefront can offer for an address: the delivery methods, fee, minimum, when."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.utils import timezone

from catalog.models import Channel
from delivery.models import DeliverySlot, DeliveryZone
from delivery.promise import Estimate, promise_new
from delivery.slot_room import SLOT_HAS_ROOM
from delivery.zones import (
    address_geocode,
    zone_fee,
    zone_open_at,
    zone_opens_next,
    zones_for_address,
)
from orders.models import ShippingMethod

SLOT_DAYS = 7


@dataclass(frozen=True)
class DeliveryOption:
    method: ShippingMethod
    zone: DeliveryZone
    fee: Decimal
    open_now: bool
    opens_at: datetime | None
    below_minimum: bool
    asap: Estimate | None
    slots: list[DeliverySlot]


def delivery_options(
    *,
    channel: Channel,
    address: dict,
    subtotal: Decimal | None = None,
    now: datetime | None = None,
) -> list[DeliveryOption]:
    """Each on-demand method of the channel with the zone that would deliver the address
    (none: not deliverable here), its fee for `subtotal`, whether it is open now with the
    promise if so, and the slots that can still be booked in the next week."""
    now = now or timezone.now()
    methods = list(
        ShippingMethod.objects.filter(
            channel=channel, active=True, kind=ShippingMethod.Kind.LOCAL_DELIVERY
        ).order_by("code")
    )
    if not methods:
        return []
    matches = zones_for_address(channel=channel, address=address_geocode(address))
    if not matches:
        return []
    match = matches[0]
    zone = match.zone
    open_now = zone_open_at(zone, now)
    asap = None
    if open_now:
        ready_at = now + timedelta(minutes=zone.preparation_minutes)
        asap, _ = promise_new(zone=zone, distance=match.distance, now=now, ready_at=ready_at)
    # Full slots are left out in the query, before the first 100 are taken: a week of full
    # slots must not hide the ones with room after them.
    slots = list(
        DeliverySlot.objects.filter(
            SLOT_HAS_ROOM,
            zone=zone,
            starts_at__gte=now + timedelta(minutes=zone.preparation_minutes),
            starts_at__lt=now + timedelta(days=SLOT_DAYS),
        ).order_by("starts_at")[:100]
    )
    given = subtotal if subtotal is not None else Decimal(0)
    return [
        DeliveryOption(
            method=method,
            zone=zone,
            fee=zone_fee(zone, given),
            open_now=open_now,
            opens_at=None if open_now else zone_opens_next(zone, now),
            below_minimum=subtotal is not None and subtotal < zone.minimum_order,
            asap=asap,
            slots=slots,
        )
        for method in methods
    ]
