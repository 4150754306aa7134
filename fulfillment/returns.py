"""Returns: units of a shipped order come back, go on the shelf or not, and money goes back."""

from __future__ import annotations

import logging
from decimal import Decimal

from django.db import transaction
from django.db.models import F

from backoffice.exceptions import InvalidTransition, ValidationFailed
from backoffice.money import quantize
from fulfillment.models import Fulfillment, Return, ReturnLine
from fulfillment.services import LineRequest, fulfillment_status_refresh
from inventory.locks import stock_levels_lock_pairs
from inventory.models import StockMovement, Warehouse
from inventory.services import stock_adjust
from orders.errors import PaymentProviderUnavailable
from orders.events import order_domain_event, order_events_write
from orders.locks import order_lines_lock, order_lock
from orders.models import Order, OrderEvent, OrderLine
from orders.services import order_refund, order_refundable_amount

logger = logging.getLogger(__name__)


def return_refund_amount(*, order: Order, lines: list[LineRequest]) -> Decimal:
    """What a return of these units gives back: their line price, capped at what is still
    refundable (the amount `return_create` refunds, for a refund limit to be checked first)."""
    prices = {line.sku: line.unit_price for line in order.lines.all()}
    total = sum((prices.get(ln.sku, Decimal(0)) * ln.quantity for ln in lines), Decimal(0))
    return min(quantize(total, order.currency), order_refundable_amount(order=order))


def return_create(
    *,
    order: Order,
    lines: list[LineRequest],
    reason: str,
    restock: bool = True,
    warehouse: Warehouse | None = None,
    refund: bool = True,
    actor: str = "",
) -> Return:
    """Record returned units (at most what shipped and was not returned yet).

    `restock` puts them back into `warehouse` (default: the one that shipped them)
    with a `return` ledger line; `refund` gives back their line price, capped at
    what is still refundable. `return.created` is recorded with the change.
    """
    if not lines:
        raise ValidationFailed({"lines": ["Return at least one line."]})
    if not reason.strip():
        raise ValidationFailed({"reason": ["Say why the units came back."]})
    with transaction.atomic():
        order = order_lock(order)
        if order.fulfillment_status == Order.FulfillmentStatus.UNFULFILLED:
            raise InvalidTransition(
                entity="order", current=order.fulfillment_status, action="return"
            )
        by_sku = {line.sku: line for line in order_lines_lock(order)}
        returned: dict[int, tuple[OrderLine, int]] = {}
        errors = []
        for request in lines:
            line = by_sku.get(request.sku)
            if line is None:
                errors.append(f"'{request.sku}' is not in this order.")
                continue
            quantity = returned.get(line.pk, (line, 0))[1] + request.quantity
            if request.quantity < 1 or quantity > line.quantity_fulfilled - line.quantity_returned:
                errors.append(
                    f"{request.sku}: at most "
                    f"{line.quantity_fulfilled - line.quantity_returned} can be returned."
                )
                continue
            returned[line.pk] = (line, quantity)
        if errors:
            raise ValidationFailed({"lines": errors})
        if restock and warehouse is None:
            shipped_from = order.fulfillments.filter(
                status__in=[Fulfillment.Status.SHIPPED, Fulfillment.Status.DELIVERED]
            ).first()
            warehouse = shipped_from.warehouse if shipped_from else None
        refund_amount = quantize(
            sum((line.unit_price * quantity for line, quantity in returned.values()), Decimal(0)),
            order.currency,
        )
        record = Return.objects.create(
            order=order,
            reason=reason.strip()[:500],
            restock=restock,
            warehouse=warehouse if restock else None,
            created_by=actor,
        )
        ReturnLine.objects.bulk_create(
            ReturnLine(return_request=record, order_line=line, quantity=quantity)
            for line, quantity in returned.values()
        )
        for line, quantity in returned.values():
            OrderLine.objects.filter(pk=line.pk).update(
                quantity_returned=F("quantity_returned") + quantity
            )
        fulfillment_status_refresh(order)
        data = {
            "return_id": str(record.pk),
            "reason": record.reason,
            "restock": restock,
            "lines": [{"sku": line.sku, "quantity": q} for line, q in returned.values()],
        }
        order_events_write(order=order, types=[OrderEvent.Type.RETURNED], actor=actor, data=data)
        order_domain_event(order=order, type="return.created", extra={"return": data})
        if restock:
            _restock(record, returned, warehouse, actor, reason)
    if refund and refund_amount > 0:
        _return_refund(order, record, refund_amount, actor=actor, reason=reason)
    return record


def _return_refund(
    order: Order, record: Return, refund_amount: Decimal, *, actor: str, reason: str
) -> None:
    """Give back the returned lines' price, capped at what is still refundable, after the
    return committed: the PSP is asked with no transaction open. A PSP that does not answer
    leaves the refund pending; reconciliation makes it."""
    amount = min(refund_amount, order_refundable_amount(order=order))
    if amount <= 0:
        return
    try:
        order_refund(
            order=order,
            actor=actor,
            amount=str(amount),
            reason=f"Return {record.pk}: {reason}"[:500],
        )
    except PaymentProviderUnavailable:
        logger.warning("The refund of return %s is pending: the PSP did not answer", record.pk)
    Return.objects.filter(pk=record.pk).update(refund_amount=amount)
    record.refund_amount = amount


def _restock(
    record: Return,
    returned: dict[int, tuple[OrderLine, int]],
    warehouse: Warehouse,
    actor: str,
    reason: str,
) -> None:
    """Put the returned units back on the shelf, with a `return` ledger line each.

    Stock last (docs/architecture.md, "Lock order"; the refund's payment call comes after
    the commit), and every row locked at once in the lock order first: restocking line by line in
    the order's own line order could deadlock with a checkout of the same SKUs.
    """
    lines = [(line, quantity) for line, quantity in returned.values() if line.variant is not None]
    stock_levels_lock_pairs((line.variant, warehouse) for line, _ in lines)
    for line, quantity in lines:
        stock_adjust(
            variant=line.variant,
            warehouse=warehouse,
            delta=quantity,
            reason=StockMovement.Reason.RETURN,
            actor=actor,
            reference=f"return:{record.pk}",
            note=reason[:200],
        )
