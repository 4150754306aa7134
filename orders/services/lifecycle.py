"""The order lifecycle after placement: capture, refund, cancel, notes, completion.

Every action locks the order row, checks ORDER_TRANSITIONS (a forbidden action
raises InvalidTransition → 409 `invalid_transition`), changes state, and writes
its timeline row and domain event in the same transaction. Rows are locked in the
system's one order (docs/architecture.md, "Lock order"): the order, its payments,
the voucher, then stock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from backoffice import task_names
from backoffice.exceptions import InvalidTransition, ValidationFailed
from backoffice.jobs import enqueue_after_commit
from backoffice.money import money_dict, money_format, parse_amount
from inventory.selectors import allocation_list
from inventory.services import stock_deallocate
from orders.delivery_hook import delivery_planner_installed
from orders.errors import RefundExceedsCaptured
from orders.events import order_domain_event, order_events_write
from orders.locks import order_lock, order_payments_lock, voucher_use_return
from orders.models import ORDER_TRANSITIONS, Order, OrderEvent, Payment
from orders.payments import provider_get
from orders.services.validation import address_clean

ZERO = Decimal(0)


def _require(order: Order, action: str) -> None:
    if action not in ORDER_TRANSITIONS[order.status]:
        raise InvalidTransition(entity="order", current=order.status, action=action)


def _payment_status(payments: list[Payment]) -> str:
    captured = sum((p.captured_amount for p in payments), ZERO)
    refunded = sum((p.refunded_amount for p in payments), ZERO)
    if captured > 0 and refunded >= captured:
        return Order.PaymentStatus.REFUNDED
    if refunded > 0:
        return Order.PaymentStatus.PARTIALLY_REFUNDED
    if captured > 0:
        return Order.PaymentStatus.PAID
    if any(p.status == Payment.Status.AUTHORIZED for p in payments):
        return Order.PaymentStatus.AUTHORIZED
    return Order.PaymentStatus.UNPAID


def _refundable(payments: list[Payment]) -> Decimal:
    return sum((p.captured_amount - p.refunded_amount for p in payments), ZERO)


def order_refundable_amount(*, order: Order) -> Decimal:
    """What can still be given back: captured and not refunded (what a refund takes by default)."""
    return _refundable(list(order.payments.all()))


def order_capture(
    *, order: Order, actor: str = "", method: str = "cash", reference: str = ""
) -> Order:
    """Take the money: capture an authorization, or record a manual payment of the total.

    A pending order becomes confirmed. Raises InvalidTransition when already paid.
    """
    with transaction.atomic():
        order = order_lock(order)
        _require(order, "capture")
        if order.payment_status not in (Order.PaymentStatus.UNPAID, Order.PaymentStatus.AUTHORIZED):
            raise InvalidTransition(entity="order", current=order.payment_status, action="capture")
        authorized = [
            p for p in order_payments_lock(order) if p.status == Payment.Status.AUTHORIZED
        ]
        if authorized:
            for payment in authorized:
                provider_get(payment.provider).capture(
                    reference=payment.reference, amount=payment.amount
                )
                payment.status = Payment.Status.CAPTURED
                payment.captured_amount = payment.amount
                payment.save(update_fields=["status", "captured_amount", "updated_at"])
        else:
            authorization = provider_get("manual").authorize(
                amount=order.total,
                currency=order.currency,
                data={"method": method, "reference": reference},
            )
            Payment.objects.create(
                order=order,
                provider="manual",
                method=authorization.method,
                status=Payment.Status.CAPTURED,
                currency=order.currency,
                amount=order.total,
                captured_amount=order.total,
                reference=authorization.reference,
            )
        timeline = [OrderEvent.Type.PAID]
        order.payment_status = _payment_status(list(order.payments.all()))
        was_pending = order.status == Order.Status.PENDING
        if was_pending:
            order.status = Order.Status.CONFIRMED
            timeline.append(OrderEvent.Type.CONFIRMED)
        order.save(update_fields=["status", "payment_status", "updated_at"])
        order_events_write(order=order, types=timeline, actor=actor)
        order_domain_event(order=order, type="order.paid")
        if was_pending:
            order_domain_event(order=order, type="order.confirmed")
            enqueue_after_commit(task_names.FULFILLMENTS_PLAN, order.pk)
        # Cash on delivery: paid after delivery completes the order (fulfillment decides).
        enqueue_after_commit(task_names.ORDER_COMPLETE_IF_DELIVERED, order.pk)
    return order


def order_refund(
    *, order: Order, actor: str = "", amount: object = None, reason: str = ""
) -> Order:
    """Give money back, at most what was captured and not yet refunded (all of it by default)."""
    with transaction.atomic():
        order = order_lock(order)
        _require(order, "refund")
        payments = order_payments_lock(order)
        refundable = _refundable(payments)
        if refundable <= 0:
            raise InvalidTransition(entity="order", current=order.payment_status, action="refund")
        if amount is None:
            wanted = refundable
        else:
            try:
                wanted = parse_amount(amount, order.currency)
            except ValueError as error:
                raise ValidationFailed({"amount": [str(error)]}) from error
            if wanted <= 0:
                raise ValidationFailed({"amount": ["Must be more than 0."]})
        if wanted > refundable:
            limit = money_dict(refundable, order.currency)
            raise RefundExceedsCaptured(
                f"At most {money_format(refundable, order.currency)} can be refunded.",
                refundable=limit,
            )
        refunded = _refund_payments(payments, wanted)
        order.payment_status = _payment_status(payments)
        order.save(update_fields=["payment_status", "updated_at"])
        data = {**money_dict(refunded, order.currency), "reason": reason}
        order_events_write(order=order, types=[OrderEvent.Type.REFUNDED], actor=actor, data=data)
        order_domain_event(order=order, type="refund.created", extra={"refund": data})
    return order


def _refund_payments(payments: list[Payment], wanted: Decimal) -> Decimal:
    remaining = wanted
    for payment in payments:
        available = payment.captured_amount - payment.refunded_amount
        take = min(available, remaining)
        if take <= 0:
            continue
        provider_get(payment.provider).refund(reference=payment.reference, amount=take)
        payment.refunded_amount += take
        payment.status = (
            Payment.Status.REFUNDED
            if payment.refunded_amount >= payment.captured_amount
            else Payment.Status.PARTIALLY_REFUNDED
        )
        payment.save(update_fields=["refunded_amount", "status", "updated_at"])
        remaining -= take
    return wanted - remaining


@dataclass(frozen=True)
class CancelEffects:
    """What `order_cancel` would do to an order now: stock released, money given back."""

    currency: str
    released: list[tuple[str, str, int]]  # (SKU, warehouse, units)
    voided: list[tuple[Payment, Decimal]]  # authorizations dropped: nothing was taken
    refunded: list[tuple[Payment, Decimal]]  # captured money given back
    voucher_code: str


def order_cancel_effects(*, order: Order) -> CancelEffects:
    """The consequences of cancelling, read the way `order_cancel` (below) applies them, so a
    confirmation page can say them before anything happens. Raises InvalidTransition when
    the order cannot be cancelled."""
    _require(order, "cancel")
    if order.fulfillment_status != Order.FulfillmentStatus.UNFULFILLED:
        raise InvalidTransition(entity="order", current=order.fulfillment_status, action="cancel")
    payments = list(order.payments.order_by("id"))
    return CancelEffects(
        currency=order.currency,
        released=[(a.sku, a.warehouse, a.quantity) for a in allocation_list(holder=order.holder)],
        voided=[(p, p.amount) for p in payments if p.status == Payment.Status.AUTHORIZED],
        refunded=[
            (p, p.captured_amount - p.refunded_amount)
            for p in payments
            if p.captured_amount > p.refunded_amount
        ],
        voucher_code=order.voucher_code if order.voucher_id else "",
    )


def order_cancel(
    *, order: Order, actor: str = "", reason: str = "", only_if_unpaid: bool = False
) -> Order:
    """Cancel until something ships: release the stock, void or refund what was paid,
    and give the voucher use back. Raises InvalidTransition otherwise.

    `only_if_unpaid` (the unpaid-timeout job) refuses an order that was paid meanwhile.
    """
    with transaction.atomic():
        order = order_lock(order)
        _require(order, "cancel")
        if only_if_unpaid and order.payment_status != Order.PaymentStatus.UNPAID:
            raise InvalidTransition(entity="order", current=order.payment_status, action="cancel")
        if order.fulfillment_status != Order.FulfillmentStatus.UNFULFILLED:
            raise InvalidTransition(
                entity="order", current=order.fulfillment_status, action="cancel"
            )
        planner = delivery_planner_installed()
        if planner is not None:  # its delivery, offers and slot: before payments (Lock order)
            planner.order_cancelling(order=order, actor=actor)
        payments = order_payments_lock(order)
        for payment in payments:
            if payment.status == Payment.Status.AUTHORIZED:
                provider_get(payment.provider).void(reference=payment.reference)
                payment.status = Payment.Status.VOIDED
                payment.save(update_fields=["status", "updated_at"])
        refundable = _refundable(payments)
        timeline = [OrderEvent.Type.CANCELLED]
        if refundable > 0:
            _refund_payments(payments, refundable)
            timeline.append(OrderEvent.Type.REFUNDED)
        if order.voucher_id:
            voucher_use_return(order.voucher_id)
        order.status = Order.Status.CANCELLED
        order.payment_status = _payment_status(payments)
        order.cancelled_at = timezone.now()
        order.save(update_fields=["status", "payment_status", "cancelled_at", "updated_at"])
        order_events_write(order=order, types=timeline, actor=actor, data={"reason": reason})
        order_domain_event(order=order, type="order.cancelled")
        # Stock last, as everywhere (docs/architecture.md, "Lock order"): checkouts queue
        # on its rows, so no payment call or other write runs while they are held.
        stock_deallocate(holder=order.holder)
    return order


def order_address_update(*, order: Order, address: dict, actor: str = "") -> Order:
    """Change where an order goes, until something of it has shipped.

    The address is checked like at checkout (ValidationFailed naming `shipping_address.*`);
    a shipped, completed or cancelled order raises InvalidTransition. The old and new
    addresses are kept on the timeline.
    """
    cleaned = address_clean(address, field="shipping_address")
    with transaction.atomic():
        order = order_lock(order)
        if order.status not in (Order.Status.PENDING, Order.Status.CONFIRMED):
            raise InvalidTransition(entity="order", current=order.status, action="change_address")
        if order.fulfillment_status != Order.FulfillmentStatus.UNFULFILLED:
            raise InvalidTransition(
                entity="order", current=order.fulfillment_status, action="change_address"
            )
        previous = order.shipping_address
        order.shipping_address = cleaned
        order.save(update_fields=["shipping_address", "updated_at"])
        order_events_write(
            order=order,
            types=[OrderEvent.Type.ADDRESS_CHANGED],
            actor=actor,
            data={"from": previous, "to": cleaned},
        )
    return order


def order_note_add(*, order: Order, actor: str, note: str) -> OrderEvent:
    """Staff add a note to the timeline."""
    note = (note or "").strip()
    if not note:
        raise ValidationFailed({"note": ["Write something."]})
    with transaction.atomic():
        order = order_lock(order)
        return order_events_write(
            order=order, types=[OrderEvent.Type.NOTE_ADDED], actor=actor, data={"note": note[:5000]}
        )[0]


def order_complete(*, order: Order, actor: str = "") -> Order:
    """Everything was delivered: the order is completed (called by fulfillment)."""
    with transaction.atomic():
        order = order_lock(order)
        _require(order, "complete")
        order.status = Order.Status.COMPLETED
        order.save(update_fields=["status", "updated_at"])
        order_events_write(order=order, types=[OrderEvent.Type.COMPLETED], actor=actor)
        order_domain_event(order=order, type="order.completed")
    return order


def orders_cancel_stale_unpaid(*, now: datetime | None = None) -> int:
    """Cancel pending, unpaid orders older than their channel's limit; returns how many."""
    now = now or timezone.now()
    candidates = (
        Order.objects.filter(
            status=Order.Status.PENDING,
            payment_status=Order.PaymentStatus.UNPAID,
            channel__unpaid_order_timeout_minutes__gt=0,
        )
        .select_related("channel")
        .only("pk", "created_at", "channel__unpaid_order_timeout_minutes")
    )
    cancelled = 0
    for order in candidates.iterator():
        limit = timedelta(minutes=order.channel.unpaid_order_timeout_minutes)
        if order.created_at > now - limit:
            continue
        try:
            order_cancel(
                order=order,
                actor="system:unpaid-timeout",
                reason="Not paid in time.",
                only_if_unpaid=True,
            )
            cancelled += 1
        except InvalidTransition:
            continue  # paid or cancelled meanwhile
    return cancelled
