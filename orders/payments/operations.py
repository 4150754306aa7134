"""Captures, refunds and cancels asked of the PSP: recorded first, asked outside, applied once.

Each money movement is a `PaymentOperation`: the workflow that decides it (a staff
capture or refund, a cancel) writes it in its own transaction, under the order's lock,
with the idempotency key the PSP will be given. `operations_run` then asks the PSP with
no transaction open, and `operation_succeeded` applies the answer in a short transaction
of its own (the order's lock again). A network error leaves the operation pending: the
next attempt (a retry with the same key, or reconciliation) first asks the PSP whether
the lost call went through, so the money moves once.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from decimal import Decimal

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from backoffice import task_names
from backoffice.exceptions import DomainError
from backoffice.jobs import enqueue_after_commit
from backoffice.money import money_dict
from orders.events import order_domain_event, order_events_write
from orders.locks import order_lock, order_payments_lock
from orders.models import Order, OrderEvent, Payment, PaymentOperation
from orders.payments import provider_get
from orders.payments.base import SUCCEEDED, outside_transaction

logger = logging.getLogger(__name__)
ZERO = Decimal(0)


def order_payment_status(payments: list[Payment]) -> str:
    """The order's payment status from its payments' amounts."""
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


def refunds_pending(payment: Payment) -> Decimal:
    """Refunds asked of the PSP for `payment` whose answer is not in yet (counted as given)."""
    amounts = payment.operations.filter(
        kind=PaymentOperation.Kind.REFUND, status=PaymentOperation.Status.PENDING
    ).values_list("amount", flat=True)
    return sum(amounts, ZERO)


def operation_key(order: Order, kind: str, request_key: str | None, payment: Payment) -> str | None:
    """The operation's idempotency key for a request that carries one (the API's
    Idempotency-Key): a retry of that request finds the same operation."""
    if not request_key:
        return None
    return f"{kind}:{order.pk}:{payment.pk}:{request_key}"[:255]


def operations_run(operations: list[PaymentOperation], *, quiet: bool = False) -> None:
    """Ask the PSP for each pending operation and apply its answer; no transaction open.

    Raises PaymentProviderUnavailable (the operation stays pending) or the PSP's refusal
    (the operation fails), unless `quiet`: then they are logged, and reconciliation
    comes back to what is still pending.
    """
    for operation in operations:
        if operation.status != PaymentOperation.Status.PENDING:
            continue
        try:
            operation_attempt(operation)
        except DomainError:
            if not quiet:
                raise
            logger.warning("Payment operation %s left pending or failed", operation.pk)


def operation_attempt(operation: PaymentOperation) -> PaymentOperation:
    """One attempt at a pending operation: the PSP asked (with the operation's key), its
    answer applied. A second attempt first looks for what the first one did."""
    payment = operation.payment
    provider = provider_get(payment.provider)
    outside_transaction(provider, f"{operation.kind} of payment {payment.pk}")
    earlier = operation.attempts
    PaymentOperation.objects.filter(pk=operation.pk).update(attempts=F("attempts") + 1)
    operation.attempts = earlier + 1
    amount, currency, key = operation.amount, payment.currency, operation.key
    try:
        if operation.kind == PaymentOperation.Kind.REFUND:
            reference = (
                provider.refund_find(reference=payment.reference, key=key) if earlier else None
            ) or provider.refund(
                reference=payment.reference, amount=amount, currency=currency, key=key
            )
        elif operation.kind == PaymentOperation.Kind.CAPTURE:
            reference = ""
            taken = earlier and provider.session_get(reference=payment.reference).status
            if taken != SUCCEEDED:
                provider.capture(
                    reference=payment.reference, amount=amount, currency=currency, key=key
                )
        else:
            reference = ""
            state = provider.session_cancel(reference=payment.reference, key=key)
            if state.status == SUCCEEDED:  # the customer paid before the cancel reached the PSP
                PaymentOperation.objects.filter(pk=operation.pk).update(
                    status=PaymentOperation.Status.FAILED,
                    error="Paid at the provider before the cancel reached it: refund it.",
                )
                operation.status = PaymentOperation.Status.FAILED
                return operation
    except DomainError as error:
        if error.status < 500:  # the PSP refused: nothing moved, nothing will
            PaymentOperation.objects.filter(
                pk=operation.pk, status=PaymentOperation.Status.PENDING
            ).update(status=PaymentOperation.Status.FAILED, error=str(error.detail)[:500])
        raise
    return operation_succeeded(operation, reference=reference)


def operation_succeeded(operation: PaymentOperation, *, reference: str = "") -> PaymentOperation:
    """The PSP did it: the payment, the order's payment status, timeline and event, once."""
    with transaction.atomic():
        order = order_lock(Order(pk=operation.payment.order_id))
        payments = order_payments_lock(order)
        operation = PaymentOperation.objects.select_for_update().get(pk=operation.pk)
        if operation.status != PaymentOperation.Status.PENDING:
            return operation
        payment = next(p for p in payments if p.pk == operation.payment_id)
        operation.status = PaymentOperation.Status.SUCCEEDED
        operation.reference = reference[:200]
        operation.save(update_fields=["status", "reference", "updated_at"])
        APPLY[operation.kind](order, payment, operation)
        order.payment_status = order_payment_status(payments)
        order.save(update_fields=["status", "payment_status", "updated_at"])
    return operation


def payment_refunded(payment: Payment, refunded: Decimal) -> None:
    """Book `refunded` as all that was given back of `payment` (saved)."""
    payment.refunded_amount = refunded
    payment.status = (
        Payment.Status.REFUNDED
        if payment.refunded_amount >= payment.captured_amount
        else Payment.Status.PARTIALLY_REFUNDED
    )
    payment.save(update_fields=["refunded_amount", "status", "updated_at"])


def _apply_refund(order: Order, payment: Payment, operation: PaymentOperation) -> None:
    payment_refunded(payment, payment.refunded_amount + operation.amount)
    data = {**money_dict(operation.amount, order.currency), "reason": operation.reason}
    order_events_write(
        order=order, types=[OrderEvent.Type.REFUNDED], actor=operation.actor, data=data
    )
    if operation.announce:
        order_domain_event(order=order, type="refund.created", extra={"refund": data})


def _apply_capture(order: Order, payment: Payment, operation: PaymentOperation) -> None:
    payment.status = Payment.Status.CAPTURED
    payment.captured_amount = operation.amount
    payment.save(update_fields=["status", "captured_amount", "updated_at"])
    order.payment_status = Order.PaymentStatus.PAID
    order_captured(order, actor=operation.actor)


def _apply_cancel(order: Order, payment: Payment, operation: PaymentOperation) -> None:
    payment.status = Payment.Status.VOIDED
    payment.save(update_fields=["status", "updated_at"])


APPLY = {
    PaymentOperation.Kind.REFUND: _apply_refund,
    PaymentOperation.Kind.CAPTURE: _apply_capture,
    PaymentOperation.Kind.CANCEL: _apply_cancel,
}


def order_captured(order: Order, *, actor: str) -> None:
    """The money of a locked order was taken: a pending order is confirmed (and planned),
    `order.paid` is sent, and a delivered cash-on-delivery order completes."""
    timeline = [OrderEvent.Type.PAID]
    was_pending = order.status == Order.Status.PENDING
    if was_pending:
        order.status = Order.Status.CONFIRMED
        timeline.append(OrderEvent.Type.CONFIRMED)
    order_events_write(order=order, types=timeline, actor=actor)
    order_domain_event(order=order, type="order.paid")
    if was_pending:
        order_domain_event(order=order, type="order.confirmed")
        enqueue_after_commit(task_names.FULFILLMENTS_PLAN, order.pk)
    # Cash on delivery: paid after delivery completes the order (fulfillment decides).
    enqueue_after_commit(task_names.ORDER_COMPLETE_IF_DELIVERED, order.pk)


def operations_pending(*, older_than_seconds: int = 60) -> list[PaymentOperation]:
    """Operations whose answer was lost (for reconciliation)."""
    cutoff = timezone.now() - timedelta(seconds=older_than_seconds)
    return list(
        PaymentOperation.objects.select_related("payment").filter(
            status=PaymentOperation.Status.PENDING, updated_at__lt=cutoff
        )
    )
