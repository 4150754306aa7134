"""Order events: the append-only timeline, and the domain events sent to the outbox."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from backoffice.money import money_dict
from backoffice.outbox.models import OutboxEvent
from backoffice.outbox.services import event_record, events_build
from backoffice.timefmt import rfc3339
from orders.models import Order, OrderEvent


def order_payload(order: Order, lines: list | None = None) -> dict[str, Any]:
    """The order as webhooks carry it (plain JSON, no API serializer)."""
    currency = order.currency
    lines = lines if lines is not None else list(order.lines.all())
    return {
        "id": str(order.pk),
        "number": order.number,
        "token": str(order.token),
        "channel": order.channel.code,
        "status": order.status,
        "payment_status": order.payment_status,
        "fulfillment_status": order.fulfillment_status,
        "email": order.email,
        "lines": [
            {
                "sku": line.sku,
                "name": line.name,
                "quantity": line.quantity,
                "unit_price": money_dict(line.unit_price, currency),
                "total": money_dict(line.total, currency),
            }
            for line in lines
        ],
        "subtotal": money_dict(order.subtotal, currency),
        "shipping": money_dict(order.shipping, currency),
        "discount": money_dict(order.discount, currency),
        "tax": money_dict(order.tax, currency),
        "total": money_dict(order.total, currency),
        "created_at": rfc3339(order.created_at),
    }


def order_events_write(
    *,
    order: Order,
    types: list[str],
    actor: str = "",
    data: dict[str, Any] | None = None,
    also: Iterable[OrderEvent] = (),
) -> list[OrderEvent]:
    """Append timeline rows (one per business event) in the caller's transaction; `also`
    holds further rows, with data of their own, for the same insert."""
    return OrderEvent.objects.bulk_create(
        order_events_build(order=order, types=types, actor=actor, data=data, also=also)
    )


def order_events_build(
    *,
    order: Order,
    types: list[str],
    actor: str = "",
    data: dict[str, Any] | None = None,
    also: Iterable[OrderEvent] = (),
) -> list[OrderEvent]:
    """The rows of `order_events_write`, for the caller to insert in its transaction."""
    return [
        *(
            OrderEvent(order=order, type=event_type, actor=actor, data=data or {})
            for event_type in types
        ),
        *also,
    ]


def order_domain_event(
    *,
    order: Order,
    type: str,
    lines: list | None = None,
    sequence: int | None = None,
    extra: dict[str, Any] | None = None,
) -> None:
    """Record `order.*` in the outbox; the caller holds the order's row lock."""
    data = {"order": order_payload(order, lines)}
    if extra:
        data.update(extra)
    event_record(
        type=type,
        aggregate=order.holder,
        data=data,
        channel_code=order.channel.code,
        sequence=sequence,
    )


def order_domain_events(
    *, order: Order, types: list[str], lines: list | None = None, first_sequence: int | None = None
) -> None:
    """Record several `order.*` events in one insert (e.g. created and confirmed at placement)."""
    OutboxEvent.objects.bulk_create(
        order_domain_events_build(
            order=order, types=types, lines=lines, first_sequence=first_sequence
        )
    )


def order_domain_events_build(
    *,
    order: Order,
    types: list[str],
    lines: list | None = None,
    first_sequence: int | None = None,
    nudge: bool = True,
) -> list[OutboxEvent]:
    """The outbox rows of `order_domain_events`, for the caller to insert in its transaction.

    `nudge=False` when the caller queues `order_placed_task` after the same commit: its
    worker nudges the outbox dispatcher (`backoffice.outbox.services.events_build`)."""
    payload = {"order": order_payload(order, lines)}
    return events_build(
        [
            {
                "type": event_type,
                "aggregate": order.holder,
                "data": payload,
                "channel_code": order.channel.code,
                "sequence": None if first_sequence is None else first_sequence + index,
            }
            for index, event_type in enumerate(types)
        ],
        nudge=nudge,
    )
