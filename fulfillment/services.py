"""Fulfillment workflows: plan, pack, ship, deliver, cancel, hand over at a till, and returns.

Shipping takes the units out of stock through `inventory.services.stock_ship`
(allocation and on_hand, with a ledger line) and moves the order's
`fulfillment_status`; the order completes when everything was delivered.
Every workflow locks the order row first, then the fulfillment, then the order's
lines, and stock last (`fulfillment.locks`; docs/architecture.md, "Lock order"), so
two staff members (or a worker and a person) acting at once queue instead of racing.

An order whose goods ship needs a complete shipping address (`orders.delivery`):
until it has one, nothing of it is planned or shipped (OrderNotShippable), and the
automatic planner leaves a note on its timeline saying why, for staff to fix.
"""

from __future__ import annotations

from collections import defaultdict

from django.db import transaction
from django.db.models import F, Sum
from django.utils import timezone

from backoffice import task_names
from backoffice.exceptions import InvalidTransition, NotFound, ValidationFailed
from backoffice.ids import is_id
from backoffice.jobs import enqueue_after_commit
from fulfillment.errors import NothingToFulfill, OrderNotShippable
from fulfillment.locks import fulfillment_lock
from fulfillment.models import FULFILLMENT_TRANSITIONS, Fulfillment, FulfillmentLine
from fulfillment.selectors import order_planned_units
from inventory.models import Allocation, Warehouse
from inventory.services import StockLine, stock_ship
from orders.delivery import order_shipping_problem, ships_goods
from orders.events import order_domain_event, order_events_write
from orders.locks import order_lock
from orders.models import ORDER_TRANSITIONS, Order, OrderEvent, OrderLine
from orders.services import (
    order_cancel,
    order_capture,
    order_complete,
)
from orders.services.validation import LineRequest  # the same {sku, quantity} ask

NOT_SHIPPABLE = "not_shippable"  # `reason` of the planner's timeline note


def _require_shippable(order: Order) -> None:
    problem = order_shipping_problem(order)
    if problem:
        raise OrderNotShippable(problem)


def _lock_fulfillment(fulfillment: Fulfillment, action: str) -> tuple[Order, Fulfillment]:
    order, fulfillment = fulfillment_lock(fulfillment)
    if order.status == Order.Status.CANCELLED and action != "cancel":
        raise InvalidTransition(entity="order", current=order.status, action=action)
    if action not in FULFILLMENT_TRANSITIONS[fulfillment.status]:
        raise InvalidTransition(entity="fulfillment", current=fulfillment.status, action=action)
    return order, fulfillment


def _allocated_by_warehouse(order: Order) -> dict[int, dict[int, int]]:
    """{warehouse_id: {variant_id: units allocated to this order there}}."""
    result: dict[int, dict[int, int]] = defaultdict(dict)
    for warehouse_id, variant_id, quantity in Allocation.objects.filter(
        holder=order.holder
    ).values_list("stock_level__warehouse_id", "stock_level__variant_id", "quantity"):
        result[warehouse_id][variant_id] = quantity
    return result


def _event(
    order: Order, fulfillment: Fulfillment, order_event: str, domain_event: str, actor: str
) -> None:
    data = {"fulfillment_id": str(fulfillment.pk), "warehouse": fulfillment.warehouse.code}
    if fulfillment.tracking_number:
        data.update(
            carrier=fulfillment.carrier,
            tracking_number=fulfillment.tracking_number,
            tracking_url=fulfillment.tracking_url,
        )
    order_events_write(order=order, types=[order_event], actor=actor, data=data)
    order_domain_event(order=order, type=domain_event, extra={"fulfillment": data})


def fulfillment_create(
    *,
    order: Order,
    warehouse: Warehouse | None = None,
    lines: list[LineRequest] | None = None,
    actor: str = "",
) -> list[Fulfillment]:
    """Plan shipments for units not yet in one: from `warehouse` if given, else one
    fulfillment per warehouse holding the order's allocations.

    `lines` limits what is fulfilled (all unfulfilled units when omitted). Units
    must be allocated to the order in the chosen warehouse. Raises InvalidTransition
    for an order whose status does not allow it, OrderNotShippable for goods to ship
    without a complete shipping address, NothingToFulfill when everything is planned,
    ValidationFailed for unknown SKUs or too many units.
    """
    with transaction.atomic():
        order = order_lock(order)
        if "fulfill" not in ORDER_TRANSITIONS[order.status]:
            raise InvalidTransition(entity="order", current=order.status, action="fulfill")
        _require_shippable(order)
        order_lines = list(order.lines.all())
        planned = order_planned_units(order=order)
        open_units = {line.pk: line.quantity - planned.get(line.pk, 0) for line in order_lines}
        wanted = _wanted_units(order_lines, open_units, lines)
        if not any(wanted.values()):
            raise NothingToFulfill()
        allocated = _allocated_by_warehouse(order)
        plan = _plan(order_lines, wanted, allocated, warehouse)
        created = []
        for warehouse_id, units in plan.items():
            fulfillment = Fulfillment.objects.create(
                order=order, warehouse_id=warehouse_id, created_by=actor
            )
            FulfillmentLine.objects.bulk_create(
                FulfillmentLine(fulfillment=fulfillment, order_line_id=line_id, quantity=quantity)
                for line_id, quantity in units.items()
            )
            _event(
                order,
                fulfillment,
                OrderEvent.Type.FULFILLMENT_CREATED,
                "fulfillment.created",
                actor,
            )
            created.append(fulfillment)
    return created


def _wanted_units(
    order_lines: list[OrderLine], open_units: dict[int, int], lines: list[LineRequest] | None
) -> dict[int, int]:
    if lines is None:
        return dict(open_units)
    by_sku = {line.sku: line for line in order_lines}
    wanted: dict[int, int] = {}
    errors: list[str] = []
    for request in lines:
        line = by_sku.get(request.sku)
        if line is None:
            errors.append(f"'{request.sku}' is not in this order.")
            continue
        total = wanted.get(line.pk, 0) + request.quantity
        if request.quantity < 1 or total > open_units[line.pk]:
            errors.append(f"{request.sku}: {open_units[line.pk]} unit(s) left to fulfill.")
            continue
        wanted[line.pk] = total
    if errors:
        raise ValidationFailed({"lines": errors})
    return wanted


def _plan(
    order_lines: list[OrderLine],
    wanted: dict[int, int],
    allocated: dict[int, dict[int, int]],
    warehouse: Warehouse | None,
) -> dict[int, dict[int, int]]:
    """{warehouse_id: {order_line_id: units}} drawn from the order's allocations."""
    plan: dict[int, dict[int, int]] = defaultdict(dict)
    errors: list[str] = []
    warehouses = [warehouse.pk] if warehouse else sorted(allocated)
    for line in order_lines:
        remaining = wanted.get(line.pk, 0)
        for warehouse_id in warehouses:
            if not remaining:
                break
            available = allocated.get(warehouse_id, {}).get(line.variant_id, 0)
            already = sum(units.get(line.pk, 0) for w, units in plan.items() if w == warehouse_id)
            take = min(remaining, available - already)
            if take > 0:
                plan[warehouse_id][line.pk] = plan[warehouse_id].get(line.pk, 0) + take
                remaining -= take
        if remaining:
            where = f" in {warehouse.code}" if warehouse else ""
            errors.append(f"{line.sku}: {remaining} unit(s) are not allocated{where}.")
    if errors:
        raise ValidationFailed({"warehouse" if warehouse else "lines": errors})
    return plan


def fulfillments_plan(*, order: Order) -> list[Fulfillment]:
    """The automatic plan when an order is confirmed: safe to run twice (plans only once).

    An order that cannot be shipped is skipped; its timeline says why, once.
    """
    order = Order.objects.get(pk=order.pk)
    if order.status != Order.Status.CONFIRMED:
        return []
    if order.fulfillments.exclude(status=Fulfillment.Status.CANCELLED).exists():
        return []
    try:
        return fulfillment_create(order=order, actor="system:planner")
    except (NothingToFulfill, InvalidTransition):
        return []
    except OrderNotShippable as refusal:
        _note_not_shippable(order, refusal.detail)
        return []


def _note_not_shippable(order: Order, problem: str) -> None:
    """The planner's note, once: under the order's lock, so two planners write one."""
    with transaction.atomic():
        order = order_lock(order)
        noted = order.events.filter(type=OrderEvent.Type.NOTE_ADDED, data__reason=NOT_SHIPPABLE)
        if not noted.exists():
            order_events_write(
                order=order,
                types=[OrderEvent.Type.NOTE_ADDED],
                actor="system:planner",
                data={"note": f"Not planned for shipping. {problem}", "reason": NOT_SHIPPABLE},
            )


def fulfillment_pack(*, fulfillment: Fulfillment, actor: str = "") -> Fulfillment:
    with transaction.atomic():
        order, fulfillment = _lock_fulfillment(fulfillment, "pack")
        fulfillment.status = Fulfillment.Status.PACKED
        fulfillment.packed_at = timezone.now()
        fulfillment.save(update_fields=["status", "packed_at"])
        order_events_write(
            order=order,
            types=[OrderEvent.Type.PACKED],
            actor=actor,
            data={"fulfillment_id": str(fulfillment.pk)},
        )
    return fulfillment


def fulfillment_ship(
    *,
    fulfillment: Fulfillment,
    carrier: str = "",
    tracking_number: str = "",
    tracking_url: str = "",
    actor: str = "",
) -> Fulfillment:
    """The parcel left: units come out of stock, the order's fulfillment_status moves,
    `fulfillment.shipped` is recorded and the customer is emailed after commit.

    Goods that travel to the customer (`orders.delivery.ships_goods`) need a carrier and a
    tracking number, so the customer can follow the parcel (ValidationFailed), and a
    complete address (OrderNotShippable).
    """
    carrier, tracking_number = carrier.strip(), tracking_number.strip()
    with transaction.atomic():
        order, fulfillment = _lock_fulfillment(fulfillment, "ship")
        if ships_goods(channel=order.channel, method=order.shipping_method):
            missing = {
                name: ["A parcel needs this, so the customer can follow it."]
                for name, value in (("carrier", carrier), ("tracking_number", tracking_number))
                if not value
            }
            if missing:
                raise ValidationFailed(missing)
        _require_shippable(order)
        lines = list(fulfillment.lines.select_related("order_line__variant"))
        # The order's lines before the stock rows (docs/architecture.md, "Lock order").
        for line in sorted(lines, key=lambda line: line.order_line_id):
            OrderLine.objects.filter(pk=line.order_line_id).update(
                quantity_fulfilled=F("quantity_fulfilled") + line.quantity
            )
        stock_ship(
            holder=order.holder,
            warehouse=fulfillment.warehouse,
            lines=[
                StockLine(variant=line.order_line.variant, quantity=line.quantity) for line in lines
            ],
            actor=actor,
            reference=f"fulfillment:{fulfillment.pk}",
        )
        fulfillment.status = Fulfillment.Status.SHIPPED
        fulfillment.carrier, fulfillment.tracking_number = carrier, tracking_number
        fulfillment.tracking_url = tracking_url
        fulfillment.shipped_at = timezone.now()
        fulfillment.save()
        fulfillment_status_refresh(order)
        _event(order, fulfillment, OrderEvent.Type.SHIPPED, "fulfillment.shipped", actor)
        enqueue_after_commit(task_names.NOTIFY_CUSTOMER, order.pk, "shipped", str(fulfillment.pk))
    return fulfillment


def fulfillment_status_refresh(order: Order) -> None:
    """Set the order's `fulfillment_status` from its lines' shipped and returned units.

    Part of this module's API (returns use it too): call it under the order's lock, after
    changing a line's `quantity_fulfilled` or `quantity_returned`; saves only on a change.
    """
    totals = order.lines.aggregate(
        ordered=Sum("quantity"),
        shipped=Sum("quantity_fulfilled"),
        returned=Sum("quantity_returned"),
    )
    if totals["returned"] and totals["returned"] >= totals["ordered"]:
        status = Order.FulfillmentStatus.RETURNED
    elif totals["shipped"] >= totals["ordered"]:
        status = Order.FulfillmentStatus.FULFILLED
    elif totals["shipped"]:
        status = Order.FulfillmentStatus.PARTIALLY_FULFILLED
    else:
        status = Order.FulfillmentStatus.UNFULFILLED
    if status != order.fulfillment_status:
        order.fulfillment_status = status
        order.save(update_fields=["fulfillment_status", "updated_at"])


def fulfillment_deliver(*, fulfillment: Fulfillment, actor: str = "") -> Fulfillment:
    """Handed to the customer; when every unit was delivered, a confirmed order completes."""
    with transaction.atomic():
        order, fulfillment = _lock_fulfillment(fulfillment, "deliver")
        fulfillment.status = Fulfillment.Status.DELIVERED
        fulfillment.delivered_at = timezone.now()
        fulfillment.save(update_fields=["status", "delivered_at"])
        _event(order, fulfillment, OrderEvent.Type.DELIVERED, "fulfillment.delivered", actor)
        enqueue_after_commit(task_names.NOTIFY_CUSTOMER, order.pk, "delivered", str(fulfillment.pk))
        order_complete_if_delivered(order=order, actor=actor)
    return fulfillment


def order_complete_if_delivered(*, order: Order, actor: str = "") -> bool:
    """Complete a confirmed order whose every unit shipped and every shipment was delivered."""
    order.refresh_from_db(fields=["status", "fulfillment_status"])
    undelivered = order.fulfillments.exclude(
        status__in=[Fulfillment.Status.DELIVERED, Fulfillment.Status.CANCELLED]
    ).exists()
    if (
        order.status == Order.Status.CONFIRMED
        and order.fulfillment_status == Order.FulfillmentStatus.FULFILLED
        and not undelivered
    ):
        order_complete(order=order, actor=actor)
        return True
    return False


def order_payment_capture(*, order: Order, actor: str = "", **payment: object) -> Order:
    """Capture an order's payment (`orders.services.order_capture`); a cash-on-delivery order
    that was already delivered completes right after. The capture owns its transactions: a
    PSP is asked between them, never inside one."""
    order = order_capture(order=order, actor=actor, **payment)
    with transaction.atomic():
        order_complete_if_delivered(order=order, actor=actor)
    return order


def fulfillment_cancel(*, fulfillment: Fulfillment, actor: str = "") -> Fulfillment:
    """Drop a shipment that has not left; its units stay allocated to the order."""
    with transaction.atomic():
        order, fulfillment = _lock_fulfillment(fulfillment, "cancel")
        fulfillment.status = Fulfillment.Status.CANCELLED
        fulfillment.cancelled_at = timezone.now()
        fulfillment.save(update_fields=["status", "cancelled_at"])
        order_events_write(
            order=order,
            types=[OrderEvent.Type.NOTE_ADDED],
            actor=actor,
            data={"note": f"Fulfillment {fulfillment.pk} cancelled."},
        )
    return fulfillment


def order_cancel_with_shipments(*, order: Order, actor: str = "", reason: str = "") -> Order:
    """Cancel an order and the shipments planned for it that have not left, in one go:
    stock is released, money given back (`orders.services.order_cancel`), and no parcel
    stays on a picker's list. Raises InvalidTransition once something has shipped.

    The shipments are cancelled inside the cancel's own transaction (`also`, under the
    order's lock, after its refusals), so the PSP's voids and refunds, asked after that
    commit, never run inside a transaction."""
    return order_cancel(
        order=order,
        actor=actor,
        reason=reason,
        also=lambda locked: fulfillments_cancel_open(order=locked, actor=actor),
    )


def fulfillments_cancel_open(*, order: Order, actor: str = "") -> int:
    """Cancel an order's shipments that have not left (when the order is cancelled)."""
    count = 0
    for fulfillment in order.fulfillments.filter(
        status__in=[Fulfillment.Status.PENDING, Fulfillment.Status.PACKED]
    ):
        fulfillment_cancel(fulfillment=fulfillment, actor=actor)
        count += 1
    return count


def order_fulfill_at_once(*, order: Order, warehouse: Warehouse, actor: str = "") -> Fulfillment:
    """A sale over the counter: everything ships and is delivered from `warehouse` now."""
    with transaction.atomic():
        fulfillments = fulfillment_create(order=order, warehouse=warehouse, actor=actor)
        if len(fulfillments) != 1:
            raise ValidationFailed({"warehouse": ["Everything must come from one store."]})
        fulfillment = fulfillment_ship(
            fulfillment=fulfillments[0], carrier="handed over", actor=actor
        )
        return fulfillment_deliver(fulfillment=fulfillment, actor=actor)


def fulfillment_get(*, pk: str) -> Fulfillment:
    fulfillment = (
        Fulfillment.objects.select_related("order__channel", "warehouse").filter(pk=int(pk)).first()
        if is_id(pk)
        else None
    )
    if fulfillment is None:
        raise NotFound("No such fulfillment.")
    return fulfillment
