"""Customer emails at placed, shipped and delivered (Django's email backend; console in DEBUG)."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.db.models import Q
from django.utils import timezone

from backoffice.ids import is_id
from backoffice.money import money_format
from fulfillment.models import Fulfillment, Notification
from orders.models import Order

logger = logging.getLogger(__name__)
CLAIM = timedelta(minutes=5)  # longer than a mail server takes to answer

SUBJECTS = {
    Notification.Kind.PLACED: "We received your order #{number}",
    Notification.Kind.SHIPPED: "Your order #{number} is on its way",
    Notification.Kind.DELIVERED: "Your order #{number} was delivered",
}


def _body(order: Order, kind: str, fulfillment: Fulfillment | None) -> str:
    def money(amount) -> str:
        return money_format(amount, order.currency)

    lines = "\n".join(
        f"  {line.quantity} x {line.name}: {money(line.total)}" for line in order.lines.all()
    )
    totals = [f"Subtotal: {money(order.subtotal)}"]
    if order.discount:
        totals.append(f"Discount: -{money(order.discount)}")
    if order.shipping:
        totals.append(f"Shipping: {money(order.shipping)}")
    if order.tax:
        totals.append(f"Tax{' (included)' if order.prices_include_tax else ''}: {money(order.tax)}")
    totals.append(f"Total: {money(order.total)}")
    text = [f"Order #{order.number}", lines, "\n".join(totals)]
    if fulfillment is not None and fulfillment.tracking_number:
        text.append(
            f"Tracking: {fulfillment.carrier} {fulfillment.tracking_number} "
            f"{fulfillment.tracking_url}".rstrip()
        )
    return "\n\n".join(text)


def notification_send(*, order_id: int, kind: str, reference: str = "") -> bool:
    """Email the customer once per (order, kind, reference); returns whether it was sent now.

    The row is claimed with a conditional update, so a job that runs twice sends once;
    the mail server is talked to outside any transaction or row lock. A failed send
    frees the claim and raises, so the task retries; a worker that dies after sending
    but before marking may send again (at least once, never lost).
    """
    order = Order.objects.select_related("channel").filter(pk=order_id).first()
    if order is None or not order.email:
        return False
    notification, _ = Notification.objects.get_or_create(
        order=order, kind=kind, reference=reference, defaults={"recipient": order.email}
    )
    now = timezone.now()
    claimed = (
        Notification.objects.filter(pk=notification.pk, sent_at__isnull=True)
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
        .update(claimed_until=now + CLAIM)
    )
    if not claimed:
        return False
    fulfillment = (
        Fulfillment.objects.filter(pk=int(reference)).first() if is_id(reference) else None
    )
    try:
        send_mail(
            SUBJECTS[kind].format(number=order.number),
            _body(order, kind, fulfillment),
            settings.DEFAULT_FROM_EMAIL,
            [order.email],
        )
    except Exception:
        Notification.objects.filter(pk=notification.pk).update(claimed_until=None)
        raise
    Notification.objects.filter(pk=notification.pk).update(sent_at=timezone.now())
    return True
