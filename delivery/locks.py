"""Row locks of deliveries, couriers, offers and slots, in the system's one lock order.

docs/architecture.md ("Lock order") places them: an order's delivery comes right after
the order row (a workflow that holds both takes the order first); then couriers (in id
order), then the delivery's offers; a slot's capacity is a counter taken after those and
before payments, vouchers, links and stock (checkout books it before the voucher).
"""

from __future__ import annotations

from django.db.models import F

from delivery.errors import DeliverySlotFull
from delivery.models import Courier, Delivery, DeliverySlot


def delivery_lock(delivery_id: int) -> Delivery:
    """Lock the delivery row only (its order and zone read alongside); returns it fresh."""
    return (
        Delivery.objects.select_for_update(of=("self",))
        .select_related("order__channel", "zone__warehouse", "courier__access")
        .get(pk=delivery_id)
    )


def couriers_lock(courier_ids: list[int]) -> dict[int, Courier]:
    """Lock courier rows in id order; returns them by id."""
    couriers = (
        Courier.objects.select_for_update(of=("self",))
        .select_related("access")
        .filter(pk__in=sorted(set(courier_ids)))
        .order_by("id")
    )
    return {courier.pk: courier for courier in couriers}


def slot_book(slot_id: int) -> None:
    """Take one unit of the slot's capacity: a conditional update, so concurrent checkouts
    can never book past it (the row stays locked until commit). Raises DeliverySlotFull."""
    booked = DeliverySlot.objects.filter(pk=slot_id, booked__lt=F("capacity")).update(
        booked=F("booked") + 1
    )
    if not booked:
        raise DeliverySlotFull()


def slot_release(slot_id: int) -> None:
    """Give one unit back (a cancelled delivery)."""
    DeliverySlot.objects.filter(pk=slot_id, booked__gt=0).update(booked=F("booked") - 1)
