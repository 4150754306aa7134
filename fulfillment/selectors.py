"""Fulfillment reads: what of an order is still to be put in a shipment."""

from __future__ import annotations

from django.db.models import Sum

from fulfillment.models import Fulfillment, FulfillmentLine
from orders.models import Order


def order_planned_units(*, order: Order) -> dict[int, int]:
    """Units of each order line already in a fulfillment that is not cancelled."""
    rows = (
        FulfillmentLine.objects.filter(fulfillment__order=order)
        .exclude(fulfillment__status=Fulfillment.Status.CANCELLED)
        .values("order_line_id")
        .annotate(total=Sum("quantity"))
    )
    return {row["order_line_id"]: row["total"] for row in rows}


def order_open_units(*, order: Order) -> dict[int, int]:
    """Units of each order line not yet in any shipment (what a new fulfillment may take)."""
    planned = order_planned_units(order=order)
    return {line.pk: line.quantity - planned.get(line.pk, 0) for line in order.lines.all()}
