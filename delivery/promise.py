"""The delivery promise: when the order arrives, as a window, recomputed as it moves.

arrival = the moment the courier leaves the store with the order (the later of the order
being ready and the courier being there) + the trip to the door + a handover minute or
two. Before a courier is assigned, the courier's arrival at the store counts the queue:
deliveries waiting ahead beyond the idle couriers wait, in turns, for busy couriers to
come back (DELIVERY_AVERAGE_TRIP_MINUTES each). Trips use the straight-line distance at
the zone's average speed, or the zone's `travel_minutes` when a point is missing. The
window is arrival ± max(5 minutes, a fifth of the time still to go).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings

from backoffice.sql import fetch, table
from delivery.models import Courier, Delivery, DeliveryZone
from delivery.zones import distance_meters

HANDOVER = timedelta(minutes=2)
WAITING = (Delivery.Status.QUEUED, Delivery.Status.OFFERED)
BUSY = (Delivery.Status.ASSIGNED, Delivery.Status.PICKED_UP)


@dataclass(frozen=True)
class Estimate:
    arrival: datetime
    earliest: datetime
    latest: datetime


def window(arrival: datetime, now: datetime) -> Estimate:
    to_go = max(0.0, (arrival - now).total_seconds() / 60)
    spread = timedelta(minutes=max(5, math.ceil(to_go / 5)))
    arrival = arrival.replace(microsecond=0)
    return Estimate(arrival=arrival, earliest=max(now, arrival - spread), latest=arrival + spread)


def travel(zone: DeliveryZone, meters: int | None) -> timedelta:
    if meters is None:
        return timedelta(minutes=zone.travel_minutes)
    return timedelta(hours=meters / 1000 / max(1, zone.speed_kmh))


def point_travel(zone: DeliveryZone, start: tuple | None, end: tuple | None) -> timedelta:
    if not start or not end or None in start or None in end:
        return timedelta(minutes=zone.travel_minutes)
    return travel(zone, distance_meters(*start, *end))


def courier_queue(warehouse_id: int) -> tuple[int, int, int]:
    """(deliveries waiting for a courier, idle available couriers, busy couriers) at a store:
    one statement, on every on-demand checkout."""
    d, z = table(Delivery), table(DeliveryZone)
    c, cw = table(Courier), table(Courier.warehouses.through)
    courier_of_store = (
        f"FROM {c} c JOIN {cw} cw ON cw.courier_id = c.id "
        "WHERE cw.warehouse_id = %s AND c.active = %s"
    )
    busy = f"SELECT 1 FROM {d} b WHERE b.courier_id = c.id AND b.status IN (%s, %s)"  # noqa: S608
    sql = (
        f"SELECT (SELECT COUNT(*) FROM {d} d JOIN {z} z ON z.id = d.zone_id "  # noqa: S608
        "WHERE z.warehouse_id = %s AND d.status IN (%s, %s)), "
        f"(SELECT COUNT(*) {courier_of_store} AND c.available = %s AND NOT EXISTS ({busy})), "
        f"(SELECT COUNT(*) {courier_of_store} AND EXISTS ({busy}))"
    )
    params = [warehouse_id, *WAITING, warehouse_id, True, True, *BUSY, warehouse_id, True, *BUSY]
    waiting, idle, busy_count = fetch(sql, params)[0]
    return int(waiting), int(idle), int(busy_count)


def courier_wait(waiting_ahead: int, idle: int, busy: int) -> timedelta:
    """How long until a courier reaches the store for the next delivery in the queue."""
    to_store = timedelta(minutes=settings.DELIVERY_COURIER_TO_STORE_MINUTES)
    if idle > waiting_ahead:
        return to_store
    turns = math.ceil((waiting_ahead + 1 - idle) / max(1, busy))
    return to_store + turns * timedelta(minutes=settings.DELIVERY_AVERAGE_TRIP_MINUTES)


def promise_new(
    *, zone: DeliveryZone, distance: int | None, now: datetime, ready_at: datetime
) -> tuple[Estimate, tuple[int, int, int]]:
    """The promise at checkout for an as-soon-as-possible delivery, and the queue it saw."""
    queue = courier_queue(zone.warehouse_id)
    courier_at_store = now + courier_wait(*queue)
    leaves = max(ready_at, courier_at_store)
    return window(leaves + travel(zone, distance) + HANDOVER, now), queue


def promise_now(delivery: Delivery, now: datetime) -> Estimate:
    """The promise recomputed from where the delivery and its courier are now."""
    zone = delivery.zone
    store = (zone.latitude, zone.longitude)
    dropoff = (delivery.dropoff_latitude, delivery.dropoff_longitude)
    courier = None
    if delivery.courier_latitude is not None:
        courier = (delivery.courier_latitude, delivery.courier_longitude)
    if delivery.slot_id and delivery.status in (
        Delivery.Status.SCHEDULED,
        Delivery.Status.QUEUED,
        Delivery.Status.OFFERED,
    ):
        return Estimate(delivery.slot.starts_at, delivery.slot.starts_at, delivery.slot.ends_at)
    if delivery.status == Delivery.Status.PICKED_UP:
        return window(now + point_travel(zone, courier, dropoff) + HANDOVER, now)
    if delivery.status == Delivery.Status.ASSIGNED:
        to_store = (
            point_travel(zone, courier, store)
            if courier
            else timedelta(minutes=settings.DELIVERY_COURIER_TO_STORE_MINUTES)
        )
        leaves = max(delivery.ready_at, now + to_store)
    else:
        leaves = max(delivery.ready_at, now + courier_wait(*courier_queue(zone.warehouse_id)))
    return window(leaves + travel(zone, delivery.distance_meters) + HANDOVER, now)
