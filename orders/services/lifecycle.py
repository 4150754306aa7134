"""The order lifecycle after placement: capture, refund, cancel, notes, completion.

Every action locks the order row, checks ORDER_TRANSITIONS (a forbidden action
raises InvalidTransition → 409 `invalid_transition`), changes state, and writes
its timeline row and domain event in the same transaction. Money the PSP moves
(capture, refund, void) is decided under that lock, asked of the PSP after the
commit, and applied in a transaction of its own (`orders.payments.operations`).
Rows are locked in the system's one order (docs/architecture.md, "Lock order"): the
order, its payments, the voucher, a delivery's slot, then stock.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from backoffice.exceptions import InvalidTransition, ValidationFailed
from backoffice.money import money_dict, money_format, parse_amount
from inventory.selectors import allocation_list
from inventory.services import stock_deallocate
from orders.delivery_hook import delivery_planner_installed
from orders.errors import RefundExceedsCaptured
from orders.events import order_domain_event, order_events_write
from orders.locks import order_lock, order_payments_lock, voucher_use_return
from orders.models import ORDER_TRANSITIONS, Order, OrderEvent, Payment, PaymentOperation
from orders.payments import provider_get
from orders.payments.operations import (
    operation_key,
    operations_run,
    order_captured,
    order_payment_status,
    refunds_pending,
)
from orders.services.validation import address_clean

ZERO = Decimal(0)


def _require(order: Order, action: str) -> None:
    if action not in ORDER_TRANSITIONS[order.status]:
        raise InvalidTransition(entity="order", current=order.status, action=action)


def order_refundable_amount(*, order: Order) -> Decimal:
    """What can still be given back: captured and not refunded, less refunds whose answer is
    still awaited (what a refund takes by default)."""
    return sum((_refundable(p) for p in order.payments.all()), ZERO)


def order_capture(
    *,
    order: Order,
    actor: str = "",
    method: str = "cash",
    reference: str = "",
    amount: object = None,
    key: str | None = None,
) -> Order:
    """Take the money: capture an authorization (all, or `amount` of it), or record a manual
    payment of the total.

    A pending order becomes confirmed. Raises InvalidTransition when already paid. The
    PSP is asked with no transaction open (`orders.payments.operations`); a PSP that does
    not answer raises PaymentProviderUnavailable and the capture stays pending, asked
    again with the same idempotency key (`key`: the request's) by a retry or by
    reconciliation.
    """
    with transaction.atomic():
        order = order_lock(order)
        _require(order, "capture")
        if order.payment_status not in (Order.PaymentStatus.UNPAID, Order.PaymentStatus.AUTHORIZED):
            raise InvalidTransition(entity="order", current=order.payment_status, action="capture")
        payments = order_payments_lock(order)
        authorized = [p for p in payments if p.status == Payment.Status.AUTHORIZED]
        if not authorized:
            _manual_payment_record(order, actor=actor, method=method, reference=reference)
            return order
        single = len(authorized) == 1
        operations = [
            _operation_for(
                order, payment, PaymentOperation.Kind.CAPTURE, key, actor=actor,
                amount=_capture_amount(payment, amount, order.currency, single=single),
            )
            for payment in authorized
        ]  # fmt: skip
    operations_run(operations)
    return Order.objects.select_related("channel").get(pk=order.pk)


def _capture_amount(payment: Payment, amount: object, currency: str, *, single: bool) -> Decimal:
    if amount is None:
        return payment.amount
    if not single:
        raise ValidationFailed({"amount": ["This order has several payments: capture them all."]})
    try:
        wanted = parse_amount(amount, currency)
    except ValueError as error:
        raise ValidationFailed({"amount": [str(error)]}) from error
    if not 0 < wanted <= payment.amount:
        limit = money_dict(payment.amount, currency)["amount"]
        raise ValidationFailed({"amount": [f"Capture more than 0 and at most {limit}."]})
    return wanted


def _manual_payment_record(order: Order, *, actor: str, method: str, reference: str) -> None:
    """Money taken outside (cash on delivery): recorded as captured, in the caller's
    transaction (no PSP to ask)."""
    session = provider_get("manual").session_open(
        amount=order.total,
        currency=order.currency,
        capture="automatic",
        key="",
        data={"method": method, "reference": reference},
        metadata={},
    )
    Payment.objects.create(
        order=order,
        provider="manual",
        method=session.method,
        status=Payment.Status.CAPTURED,
        currency=order.currency,
        amount=order.total,
        captured_amount=order.total,
        reference=session.reference,
    )
    order.payment_status = order_payment_status(list(order.payments.all()))
    order_captured(order, actor=actor)
    order.save(update_fields=["status", "payment_status", "updated_at"])


def _operation_for(
    order: Order,
    payment: Payment,
    kind: str,
    request_key: str | None,
    *,
    amount: Decimal,
    actor: str,
    reason: str = "",
    announce: bool = True,
) -> PaymentOperation:
    """The operation a request asks for: the one its key made before (a retry), or new."""
    key = operation_key(order, kind, request_key, payment)
    if key is not None:
        earlier = PaymentOperation.objects.filter(key=key).first()
        if earlier is not None:
            return earlier
    return PaymentOperation.objects.create(
        payment=payment,
        kind=kind,
        amount=amount,
        actor=actor,
        reason=reason[:500],
        announce=announce,
        **({"key": key} if key else {}),
    )


def order_refund(
    *,
    order: Order,
    actor: str = "",
    amount: object = None,
    reason: str = "",
    key: str | None = None,
) -> Order:
    """Give money back, at most what was captured and not yet refunded (all of it by default).

    The refund is recorded, then asked of the PSP with no transaction open, then applied
    (`orders.payments.operations`). A retry with the same `key` (the request's
    Idempotency-Key) after a network error asks about the same refund, so the money is
    given back once. Raises InvalidTransition, RefundExceedsCaptured, ValidationFailed,
    PaymentProviderUnavailable (the refund then stays pending and is asked about again).
    """
    with transaction.atomic():
        order = order_lock(order)
        _require(order, "refund")
        payments = order_payments_lock(order)
        retried = _operations_of_request(order, payments, PaymentOperation.Kind.REFUND, key)
        if retried:
            operations = retried
        else:
            refundable = {p.pk: _refundable(p) for p in payments}
            total = sum(refundable.values(), ZERO)
            if total <= 0:
                raise InvalidTransition(
                    entity="order", current=order.payment_status, action="refund"
                )
            wanted = total if amount is None else _refund_amount(amount, order.currency)
            if wanted > total:
                limit = money_dict(total, order.currency)
                raise RefundExceedsCaptured(
                    f"At most {money_format(total, order.currency)} can be refunded.",
                    refundable=limit,
                )
            operations = _refund_operations(order, payments, refundable, wanted, actor, reason, key)
    operations_run(operations)
    return Order.objects.select_related("channel").get(pk=order.pk)


def _refundable(payment: Payment) -> Decimal:
    return payment.captured_amount - payment.refunded_amount - refunds_pending(payment)


def _refund_amount(amount: object, currency: str) -> Decimal:
    try:
        wanted = parse_amount(amount, currency)
    except ValueError as error:
        raise ValidationFailed({"amount": [str(error)]}) from error
    if wanted <= 0:
        raise ValidationFailed({"amount": ["Must be more than 0."]})
    return wanted


def _operations_of_request(
    order: Order, payments: list[Payment], kind: str, key: str | None
) -> list[PaymentOperation]:
    keys = [k for k in (operation_key(order, kind, key, p) for p in payments) if k]
    return list(PaymentOperation.objects.filter(key__in=keys).select_related("payment"))


def _refund_operations(
    order: Order,
    payments: list[Payment],
    refundable: dict[int, Decimal],
    wanted: Decimal,
    actor: str,
    reason: str,
    key: str | None,
    *,
    announce: bool = True,
) -> list[PaymentOperation]:
    operations, remaining = [], wanted
    for payment in payments:
        take = min(refundable[payment.pk], remaining)
        if take <= 0:
            continue
        operations.append(
            _operation_for(
                order, payment, PaymentOperation.Kind.REFUND, key,
                amount=take, actor=actor, reason=reason, announce=announce,
            )
        )  # fmt: skip
        remaining -= take
    return operations


@dataclass(frozen=True)
class CancelEffects:
    """What `order_cancel` would do to an order now: stock released, money given back."""

    currency: str
    released: list[tuple[str, str, int]]  # (SKU, warehouse, units)
    voided: list[tuple[Payment, Decimal]]  # authorizations and open sessions dropped
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
        voided=[
            (p, p.amount)
            for p in payments
            if p.status in (Payment.Status.AUTHORIZED, Payment.Status.PENDING)
        ],
        refunded=[
            (p, p.captured_amount - p.refunded_amount)
            for p in payments
            if p.captured_amount > p.refunded_amount
        ],
        voucher_code=order.voucher_code if order.voucher_id else "",
    )


def order_cancel(
    *,
    order: Order,
    actor: str = "",
    reason: str = "",
    only_if_unpaid: bool = False,
    also: Callable[[Order], object] | None = None,
) -> Order:
    """Cancel until something ships: release the stock, void or refund what was paid,
    and give the voucher use back. Raises InvalidTransition otherwise.

    The cancel commits first (stock released at once); the voids and refunds it asks for
    are then made with no transaction open (`orders.payments.operations`). A PSP that does
    not answer leaves them pending, and reconciliation makes them later.
    `only_if_unpaid` (the unpaid-timeout job) refuses an order that was paid meanwhile;
    `also(order)` is work that must commit with the cancel, run under the order's lock
    before its payments are (a caller's transaction around this would hold the PSP's
    calls inside it).
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
        if planner is not None:  # its delivery and offers: before payments (Lock order)
            planner.order_cancelling(order=order, actor=actor)
        if also is not None:
            also(order)  # e.g. the open shipments cancelled: committed with the cancel
        payments = order_payments_lock(order)
        operations = [
            _operation_for(
                order, payment, PaymentOperation.Kind.CANCEL, None,
                amount=payment.amount, actor=actor, reason=reason,
            )
            for payment in payments
            if payment.status in (Payment.Status.AUTHORIZED, Payment.Status.PENDING)
        ]  # fmt: skip
        refundable = {p.pk: _refundable(p) for p in payments}
        operations += _refund_operations(
            order, payments, refundable, sum(refundable.values(), ZERO), actor, reason, None,
            announce=False,
        )  # fmt: skip
        order_cancelled(order, actor=actor, reason=reason)
    operations_run(operations, quiet=True)
    return Order.objects.select_related("channel").get(pk=order.pk)


def order_cancelled(
    order: Order, *, actor: str, reason: str, timeline: list[str] | None = None
) -> None:
    """Cancel a locked order whose payments are dealt with: the voucher use back, the
    timeline and `order.cancelled`, and its stock released (last, as everywhere)."""
    if order.voucher_id:
        voucher_use_return(order.voucher_id)
    order.status = Order.Status.CANCELLED
    order.payment_due_at = None
    order.cancelled_at = timezone.now()
    order.save(update_fields=["status", "payment_due_at", "cancelled_at", "updated_at"])
    order_events_write(
        order=order,
        types=[*(timeline or []), OrderEvent.Type.CANCELLED],
        actor=actor,
        data={"reason": reason},
    )
    order_domain_event(order=order, type="order.cancelled")
    planner = delivery_planner_installed()
    if planner is not None:  # a cancelled delivery's slot: after the voucher (Lock order)
        planner.order_cancelled(order=order)
    # Stock last, as everywhere (docs/architecture.md, "Lock order"): checkouts queue
    # on its rows, so no payment call or other write runs while they are held.
    stock_deallocate(holder=order.holder)


def order_address_update(*, order: Order, address: dict, actor: str = "") -> Order:
    """Change where an order goes, until something of it has shipped.

    The address is checked like at checkout (ValidationFailed naming `shipping_address.*`);
    a shipped, completed or cancelled order raises InvalidTransition. The old and new
    addresses are kept on the timeline.
    """
    cleaned = address_clean(address, field="shipping_address")
    with transaction.atomic():
        order = order_lock(order)
        if order.status not in (
            Order.Status.PENDING,
            Order.Status.PENDING_PAYMENT,
            Order.Status.CONFIRMED,
        ):
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
