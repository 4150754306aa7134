"""The PSP's answer about a session, applied to its order exactly once.

Three doors report a session's outcome: the PSP's signed webhook, the customer's client
(`payment_confirm`, which asks the PSP itself), and the reconciliation job for sessions
still open past their order's payment window. Each reads the PSP with no transaction
open, then calls `payment_session_settle`, which locks the order (then its payments, the
system's lock order) and applies the state only while the payment is still pending: the
first report confirms the order, every later one finds it settled and changes nothing.
A webhook redelivered with the same event id is recognised and not recorded twice.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from backoffice import task_names
from backoffice.jobs import enqueue_after_commit
from orders.delivery_hook import delivery_planner_installed
from orders.errors import PaymentProviderUnavailable
from orders.events import order_domain_event, order_events_write
from orders.locks import order_lock, order_payments_lock
from orders.models import Order, OrderEvent, Payment, PaymentEvent
from orders.payments import provider_get
from orders.payments.base import (
    AUTHORIZED,
    CANCELED,
    OPEN,
    SUCCEEDED,
    SessionState,
    WebhookEvent,
    outside_transaction,
)
from orders.payments.operations import (
    operation_attempt,
    operations_pending,
    order_payment_status,
    payment_refunded,
    refunds_pending,
)
from orders.services.lifecycle import order_cancelled

logger = logging.getLogger(__name__)
RECONCILER = "system:payment-reconciliation"


def payment_session_settle(
    *,
    payment: Payment,
    state: SessionState,
    source: str,
    event_id: str = "",
    event_type: str = "",
    refunded: Decimal | None = None,
) -> str:
    """Apply what the PSP says about `payment`'s session; returns what it changed.

    Paid or authorized: the order is confirmed (`order.paid` or its authorization, then
    `order.confirmed`) and planned for shipping. Canceled: the order is cancelled and its
    stock released. A failed attempt (the session stays open): a timeline entry. Anything
    for a payment already settled, or an event seen before, changes nothing.
    """
    with transaction.atomic():
        order = order_lock(Order(pk=payment.order_id))
        if (
            event_id
            and PaymentEvent.objects.filter(provider=payment.provider, event_id=event_id).exists()
        ):
            return "duplicate"
        payments = order_payments_lock(order)
        payment = next(p for p in payments if p.pk == payment.pk)
        outcome = _settle(order, payment, state, refunded)
        if outcome != "unchanged":
            order.payment_status = order_payment_status(payments)
            order.save(update_fields=["status", "payment_status", "payment_due_at", "updated_at"])
        PaymentEvent.objects.create(
            order=order,
            payment=payment,
            provider=payment.provider,
            source=source,
            event_id=event_id,
            type=event_type or f"session.{state.status}",
            state=state.psp_status or state.status,
            amount=state.amount,
            currency=state.currency,
            outcome=outcome,
        )
    return outcome


def _settle(order: Order, payment: Payment, state: SessionState, refunded: Decimal | None) -> str:
    if refunded is not None:
        return _refunds_outside(order, payment, refunded)
    if payment.status != Payment.Status.PENDING:
        return "unchanged"
    if state.status in (SUCCEEDED, AUTHORIZED):
        if state.amount is not None and (
            state.amount != payment.amount or state.currency != payment.currency
        ):
            logger.error("Payment %s: the PSP's amount differs from the order's", payment.pk)
            return "unchanged"
        return _paid(order, payment, state)
    if state.status == CANCELED:
        payment.status = Payment.Status.VOIDED
        payment.save(update_fields=["status", "updated_at"])
        if order.status == Order.Status.PENDING_PAYMENT:
            planner = delivery_planner_installed()
            if planner is not None:  # never dispatched (unpaid): its slot given back
                planner.order_cancelling(order=order, actor=RECONCILER)
            order_cancelled(
                order,
                actor=RECONCILER,
                reason="The payment was not completed in time.",
                timeline=[OrderEvent.Type.PAYMENT_EXPIRED],
            )
            return "expired"
        return "voided"
    if state.status == OPEN and state.error:
        order_events_write(
            order=order,
            types=[OrderEvent.Type.PAYMENT_FAILED],
            data={"message": state.error[:500]},
        )
        return "attempt failed"
    return "unchanged"


def _paid(order: Order, payment: Payment, state: SessionState) -> str:
    captured = state.status == SUCCEEDED
    payment.status = Payment.Status.CAPTURED if captured else Payment.Status.AUTHORIZED
    payment.captured_amount = payment.amount if captured else Decimal(0)
    payment.client_secret = ""
    payment.save(update_fields=["status", "captured_amount", "client_secret", "updated_at"])
    if order.status != Order.Status.PENDING_PAYMENT:
        # Paid after the order was cancelled (its window passed): staff give it back.
        order_events_write(
            order=order,
            types=[OrderEvent.Type.NOTE_ADDED],
            data={"note": "The payment arrived after the order was cancelled: refund it."},
        )
        return "paid after cancellation"
    order.status = Order.Status.CONFIRMED
    order.payment_due_at = None
    order.payment_status = Order.PaymentStatus.PAID if captured else Order.PaymentStatus.AUTHORIZED
    timeline = [OrderEvent.Type.PAID if captured else OrderEvent.Type.PAYMENT_AUTHORIZED]
    order_events_write(order=order, types=[*timeline, OrderEvent.Type.CONFIRMED])
    if captured:
        order_domain_event(order=order, type="order.paid")
    order_domain_event(order=order, type="order.confirmed")
    # The "placed" email and the shipping plan, as for an order paid at checkout.
    enqueue_after_commit(task_names.ORDER_PLACED, order.pk)
    planner = delivery_planner_installed()
    if planner is not None:  # an on-demand delivery waited for the payment
        planner.order_paid(order=order)
    return "paid" if captured else "authorized"


def _refunds_outside(order: Order, payment: Payment, refunded: Decimal) -> str:
    """The PSP refunded more than we asked it to (its dashboard): the books follow. Our own
    refunds still waiting for their answer count as asked (their event may come first)."""
    pending = refunds_pending(payment)
    if refunded <= payment.refunded_amount + pending or payment.captured_amount <= 0:
        return "unchanged"
    # what is pending is booked when its own answer is applied
    payment_refunded(payment, min(refunded - pending, payment.captured_amount))
    order_events_write(
        order=order, types=[OrderEvent.Type.REFUNDED], data={"source": "payment provider"}
    )
    return "refunded at the provider"


def payment_pending_of(order: Order) -> Payment | None:
    return order.payments.filter(status=Payment.Status.PENDING).order_by("-id").first()


def payment_confirm(*, order: Order) -> str:
    """The customer's client says it confirmed the payment: ask the PSP, settle what it says.

    Never takes the client's word. Raises PaymentProviderUnavailable.
    """
    payment = payment_pending_of(order)
    if payment is None:
        return "unchanged"
    provider = provider_get(payment.provider)
    outside_transaction(provider, "reading a payment session")
    state = provider.session_get(reference=payment.reference)
    return payment_session_settle(payment=payment, state=state, source=PaymentEvent.Source.CONFIRM)


def payment_webhook_receive(*, provider: str, payload: bytes, headers: Mapping[str, str]) -> str:
    """A PSP's webhook: verified with its signature, applied to its session once.

    An event for a session we do not know (another system's on the same account) or of
    a type that says nothing about a session is acknowledged and ignored. Raises
    WebhookSignatureInvalid (nothing changed), NotFound for a provider without webhooks.
    """
    event: WebhookEvent | None = provider_get(provider).webhook_event(
        payload=payload, headers=headers
    )
    if event is None:
        return "ignored"
    payment = Payment.objects.filter(provider=provider, reference=event.reference).first()
    if payment is None or not event.reference:
        return "ignored"
    state = event.state or SessionState(status=OPEN, reference=event.reference)
    return payment_session_settle(
        payment=payment,
        state=state,
        source=PaymentEvent.Source.WEBHOOK,
        event_id=event.id,
        event_type=event.type,
        refunded=event.refunded,
    )


def payments_reconcile(*, now: datetime | None = None) -> dict[str, int]:
    """Settle sessions still open past their order's payment window, and finish money
    movements whose answer was lost; returns how many of each outcome.

    For each overdue session: ask the PSP; paid or authorized → the order is confirmed;
    still open → cancel it at the PSP first (so it can no longer be paid), then the order
    expires and its stock is released; a PSP that does not answer → left for the next run.
    """
    now = now or timezone.now()
    outcomes: dict[str, int] = {}
    overdue = Payment.objects.filter(
        status=Payment.Status.PENDING,
        order__status=Order.Status.PENDING_PAYMENT,
        order__payment_due_at__lte=now,
    ).order_by("id")
    for payment in overdue.iterator():
        outcome = _reconcile_one(payment)
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    for operation in operations_pending():
        try:
            operation_attempt(operation)
            outcomes["operation done"] = outcomes.get("operation done", 0) + 1
        except PaymentProviderUnavailable:
            outcomes["operation left pending"] = outcomes.get("operation left pending", 0) + 1
        except Exception:  # the PSP refused: the operation is marked failed, staff see it
            logger.exception("Payment operation %s failed on retry", operation.pk)
    return outcomes


def _reconcile_one(payment: Payment) -> str:
    provider = provider_get(payment.provider)
    try:
        state = provider.session_get(reference=payment.reference)
        if state.status == OPEN:
            state = provider.session_cancel(reference=payment.reference, key=f"expire-{payment.pk}")
    except PaymentProviderUnavailable:
        return "provider unavailable"
    return payment_session_settle(
        payment=payment, state=state, source=PaymentEvent.Source.RECONCILE
    )
