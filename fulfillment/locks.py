"""Row locks of fulfillment: a fulfillment is locked after its order, never before.

Every workflow on a shipment (pack, ship, deliver, cancel) locks the order row first
(`orders.locks.order_lock`), then the fulfillment, then the order's lines, and stock
last: the system's one lock order (docs/architecture.md, "Lock order"). So two staff
members, a courier and a worker acting on one order at once queue on the order row.
"""

from __future__ import annotations

from fulfillment.models import Fulfillment
from orders.locks import order_lock
from orders.models import Order


def fulfillment_lock(fulfillment: Fulfillment) -> tuple[Order, Fulfillment]:
    """Lock the fulfillment's order, then the fulfillment; returns both fresh."""
    order = order_lock(fulfillment.order)
    return order, Fulfillment.objects.select_for_update().get(pk=fulfillment.pk)
