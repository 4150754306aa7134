"""Row locks of deliveries, couriers, offers and slots, in the system's one lock order.

docs/architecture.md ("Lock order") places them: an order's delivery comes right after
the order row (a workflow that holds both takes the order first); then couriers (in id
order), then the delivery's offers; a slot's capacity is a counter taken after those and
before payments, vouchers, links and stock (checkout books it before the voucher).
"""

from __future__ import annotations

from django.db import connection
from django.db.models import F

from backoffice.sql import lock_rows_of, table
from catalog.models import Channel
from delivery.errors import DeliverySlotFull
from delivery.models import Courier, Delivery, DeliverySlot, DeliveryZone
from delivery.slot_room import SLOT_HAS_ROOM
from orders.models import Order


def delivery_lock(delivery_id: int) -> Delivery:
    """Lock the delivery row only (its order and zone read alongside); returns it fresh."""
    return (
        Delivery.objects.select_for_update(of=("self",))
        .select_related("order__channel", "zone__warehouse", "courier__access")
        .get(pk=delivery_id)
    )


def delivery_lock_for_position(delivery_id: int) -> Delivery | None:
    """Lock the delivery row for a courier's position, with what the estimate and the live
    event need (its zone's point and speeds, its order's channel code), in one statement
    written out: the busiest path of a delivery (docs/performance.md, "Tracking")."""
    d, z = table(Delivery), table(DeliveryZone)
    o, c = table(Order), table(Channel)
    rows = list(
        Delivery.objects.raw(
            "SELECT d.*, z.latitude AS zone_latitude, z.longitude AS zone_longitude, "  # noqa: S608
            "z.speed_kmh AS zone_speed_kmh, z.travel_minutes AS zone_travel_minutes, "
            f"ch.code AS channel_code FROM {d} d JOIN {z} z ON z.id = d.zone_id "
            f"JOIN {o} o ON o.id = d.order_id JOIN {c} ch ON ch.id = o.channel_id "
            f"WHERE d.id = %s{lock_rows_of('d')}",
            [delivery_id],
        )
    )
    if not rows:
        return None
    delivery = rows[0]
    delivery.zone = DeliveryZone(
        pk=delivery.zone_id,
        latitude=delivery.zone_latitude,
        longitude=delivery.zone_longitude,
        speed_kmh=delivery.zone_speed_kmh,
        travel_minutes=delivery.zone_travel_minutes,
    )
    delivery.order = Order(pk=delivery.order_id, channel=Channel(code=delivery.channel_code))
    return delivery


def couriers_lock(courier_ids: list[int]) -> dict[int, Courier]:
    """Lock courier rows in id order; returns them by id."""
    couriers = (
        Courier.objects.select_for_update(of=("self",))
        .select_related("access")
        .filter(pk__in=sorted(set(courier_ids)))
        .order_by("id")
    )
    return {courier.pk: courier for courier in couriers}


def slot_share(slot_id: int) -> DeliverySlot | None:
    """A slot a cart is choosing, held `FOR KEY SHARE` until commit (None when gone): a
    deletion of it (`FOR UPDATE`, then the carts' choices) waits for the choice, or is
    waited for and the slot found gone, never deadlocking on the cart's choice row."""
    share = " FOR KEY SHARE" if connection.vendor == "postgresql" else ""
    sql = f"SELECT * FROM {table(DeliverySlot)} WHERE id = %s{share}"  # noqa: S608
    return next(iter(DeliverySlot.objects.raw(sql, [slot_id])), None)


def slot_book(slot_id: int) -> None:
    """Take one unit of the slot's capacity: a conditional update, so concurrent checkouts
    can never book past it (the row stays locked until commit). Raises DeliverySlotFull."""
    booked = DeliverySlot.objects.filter(SLOT_HAS_ROOM, pk=slot_id).update(booked=F("booked") + 1)
    if not booked:
        raise DeliverySlotFull()


def slot_release(slot_id: int) -> None:
    """Give one unit back (a cancelled delivery)."""
    DeliverySlot.objects.filter(pk=slot_id, booked__gt=0).update(booked=F("booked") - 1)
