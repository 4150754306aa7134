"""Row locks of deliveries, couriers, offers and slots, in the system's one lock order.

docs/architecture.md ("Lock order") places them: an order's delivery comes right after
the order row (a workflow that holds both takes the order first); then couriers (in id
order), then the delivery's offers; a slot's capacity is a counter taken after payments,
vouchers and links and before the stock (checkout books it in the statement that writes
the order's rows, a cancel gives it back after the voucher's use).
"""

from __future__ import annotations

from django.db import connection
from django.db.models import F

from backoffice.sql import fetch, lock_rows_of, table
from catalog.models import Channel
from delivery.errors import DeliverySlotFull, DeliverySlotUnavailable
from delivery.models import Courier, Delivery, DeliverySlot, DeliveryZone
from delivery.slot_room import SLOT_HAS_ROOM_SQL
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


def slot_booking(slot_id: int) -> tuple[str, list]:
    """The statement that takes one unit of the slot's capacity: `UPDATE ... SET booked =
    booked + 1 WHERE` it has room (`SLOT_HAS_ROOM_SQL`) `RETURNING id`, so concurrent checkouts
    can never book past it (one that waited for the row re-checks the condition on the
    row as its holder committed it). The row stays locked until commit.

    Checkout runs it inside the statement that writes the order's rows (`rows_insert`,
    right before the stock), not on its own: one statement less, and the slot's row, hot
    in a scheduled-delivery rush, is held only from there to the commit, for what runs
    under it and nothing else: the rest of that statement (the order's lines, payment,
    timeline, events, the delivery row and the stored answer: all inserts of new rows,
    which nobody else waits for), then the stock statement (the stock rows' lock, last in
    the lock order) and the commit. The order row, the voucher and the shop link are
    written before it; nothing reads the network while it is held.
    `slot_booked` reads what it returned."""
    t = table(DeliverySlot)
    sql = f"UPDATE {t} SET booked = booked + 1 WHERE id = %s AND {SLOT_HAS_ROOM_SQL} RETURNING id"  # noqa: S608
    return sql, [slot_id]


def slot_booked(slot_id: int, rows: int) -> None:
    """After `slot_booking` ran and returned `rows`: nothing if it booked; else the slot is
    full (DeliverySlotFull), or gone, deleted meanwhile (DeliverySlotUnavailable, as a
    withdrawn slot): one more statement, on a refusal only."""
    if rows:
        return
    if DeliverySlot.objects.filter(pk=slot_id).exists():
        raise DeliverySlotFull()
    raise DeliverySlotUnavailable(
        "The delivery slot was withdrawn by the shop: choose another one."
    )


def slot_book(slot_id: int) -> None:
    """Take one unit of the slot's capacity now, in a statement of its own (`slot_booking`,
    `slot_booked`). Raises DeliverySlotFull, or DeliverySlotUnavailable for a slot gone."""
    slot_booked(slot_id, len(fetch(*slot_booking(slot_id))))


def slot_release(slot_id: int) -> None:
    """Give one unit back (a cancelled delivery)."""
    DeliverySlot.objects.filter(pk=slot_id, booked__gt=0).update(booked=F("booked") - 1)
