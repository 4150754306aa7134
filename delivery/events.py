"""What a delivery tells its watchers: the views each audience sees, the live events, and
the estimates written on the order's timeline.

Live events go to two topics (backoffice/realtime.py): `order:<id>` for the customer's
stream (status, the courier's first name and position, the arrival window: never the
courier's token, phone or any customer contact), and `staff` for the staff stream
(the same, with ids and the channel, so a channel-limited key can be served its own).
They are published after the transaction commits, never while rows are locked.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction

from backoffice import realtime
from backoffice.crypto import decrypt
from backoffice.timefmt import rfc3339
from delivery.models import Delivery
from delivery.promise import Estimate
from orders.events import order_events_write
from orders.models import Order, OrderEvent

STAFF_TOPIC = "staff"


def order_topic(order_id: int) -> str:
    return f"order:{order_id}"


def delivery_pin(delivery: Delivery) -> str:
    return decrypt(delivery.pin)


def courier_view(delivery: Delivery) -> dict[str, Any] | None:
    """The courier as the customer sees them: a display name, and the position while on the way."""
    if delivery.courier_id is None or not delivery.active:
        return None
    located = delivery.courier_latitude is not None
    return {
        "name": delivery.courier.name,
        "latitude": delivery.courier_latitude if located else None,
        "longitude": delivery.courier_longitude if located else None,
        "located_at": rfc3339(delivery.courier_located_at) if located else None,
    }


def delivery_view(delivery: Delivery, *, with_pin: bool = False) -> dict[str, Any]:
    """The delivery as the customer sees it (the order view and the stream)."""
    slot = delivery.slot
    view = {
        "status": delivery.status,
        "zone": delivery.zone.name,
        "scheduled": {"starts_at": rfc3339(slot.starts_at), "ends_at": rfc3339(slot.ends_at)}
        if slot
        else None,
        "estimated_arrival": {
            "earliest": rfc3339(delivery.estimated_earliest),
            "latest": rfc3339(delivery.estimated_latest),
        }
        if delivery.active
        else None,
        "courier": courier_view(delivery),
        "proof": delivery.proof_kind or None,
        "delivered_at": rfc3339(delivery.delivered_at),
    }
    if with_pin:
        view["pin"] = delivery_pin(delivery) if delivery.active else None
    return view


def delivery_staff_view(delivery: Delivery) -> dict[str, Any]:
    order = delivery.order
    return {
        **delivery_view(delivery),
        "id": str(delivery.pk),
        "order": {"id": str(order.pk), "number": order.number},
        "channel": order.channel.code,
        "zone_code": delivery.zone.code,
        "courier_id": str(delivery.courier_id) if delivery.courier_id else None,
        "pin_attempts": delivery.pin_attempts,
    }


def delivery_announce(delivery: Delivery, *, type: str = "delivery") -> None:
    """Publish the delivery's new state to the customer's and the staff streams after commit."""
    customer = delivery_view(delivery)
    staff = delivery_staff_view(delivery)
    order_id = delivery.order_id

    def send() -> None:
        realtime.publish([order_topic(order_id)], type, customer)
        realtime.publish([STAFF_TOPIC], type, staff)

    transaction.on_commit(send, robust=True)


def location_announce(delivery: Delivery) -> None:
    """A courier's new position: a small event on both streams, after commit."""
    customer = {
        "latitude": delivery.courier_latitude,
        "longitude": delivery.courier_longitude,
        "located_at": rfc3339(delivery.courier_located_at),
        "estimated_arrival": {
            "earliest": rfc3339(delivery.estimated_earliest),
            "latest": rfc3339(delivery.estimated_latest),
        },
    }
    staff = {**customer, "id": str(delivery.pk), "channel": delivery.order.channel.code}
    order_id = delivery.order_id

    def send() -> None:
        realtime.publish([order_topic(order_id)], "location", customer)
        realtime.publish([STAFF_TOPIC], "location", staff)

    transaction.on_commit(send, robust=True)


def estimate_moved(delivery: Delivery, estimate: Estimate) -> bool:
    threshold = timedelta(minutes=settings.DELIVERY_ESTIMATE_RECORD_MINUTES)
    return (
        abs(estimate.earliest - delivery.estimated_earliest) >= threshold
        or abs(estimate.latest - delivery.estimated_latest) >= threshold
    )


def estimate_event_data(estimate: Estimate, reason: str) -> dict[str, Any]:
    return {
        "earliest": rfc3339(estimate.earliest),
        "latest": rfc3339(estimate.latest),
        "reason": reason,
    }


def estimate_apply(
    delivery: Delivery, estimate: Estimate, *, reason: str, actor: str, record: bool
) -> list[OrderEvent]:
    """Set the delivery's window; write it on the timeline when `record` (the caller saves)."""
    delivery.estimated_earliest, delivery.estimated_latest = estimate.earliest, estimate.latest
    if not record:
        return []
    return order_events_write(
        order=Order(pk=delivery.order_id),
        types=[OrderEvent.Type.DELIVERY_ESTIMATE],
        actor=actor,
        data=estimate_event_data(estimate, reason),
    )


def timeline_write(delivery: Delivery, event_type: str, actor: str, **data: Any) -> None:
    order_events_write(
        order=Order(pk=delivery.order_id), types=[event_type], actor=actor, data=data
    )


def now_text(moment: datetime) -> str:
    return rfc3339(moment)
