"""Customer emails at placed, shipped and delivered (Django's email backend; console in DEBUG)."""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.utils import timezone

from backoffice.ids import is_id
from fulfillment.models import Fulfillment, Notification
from orders.models import Order

logger = logging.getLogger(__name__)

SUBJECTS = {
    Notification.Kind.PLACED: "We received your order #{number}",
    Notification.Kind.SHIPPED: "Your order #{number} is on its way",
    Notification.Kind.DELIVERED: "Your order #{number} was delivered",
}


def _body(order: Order, kind: str, fulfillment: Fulfillment | None) -> str:
    lines = "\n".join(f"  {line.quantity} x {line.name}" for line in order.lines.all())
    text = [f"Order #{order.number}", lines, f"Total: {order.total} {order.currency}"]
    if fulfillment is not None and fulfillment.tracking_number:
        text.append(
            f"Tracking: {fulfillment.carrier} {fulfillment.tracking_number} "
            f"{fulfillment.tracking_url}".rstrip()
        )
    return "\n\n".join(text)


def notification_send(*, order_id: int, kind: str, reference: str = "") -> bool:
    """Email the customer once per (order, kind, reference); returns whether it was sent now.

    The row is claimed before sending, so a job that runs twice sends once; a crash
    between sending and marking it sent may send again (at least once, never lost).
    """
    order = Order.objects.select_related("channel").filter(pk=order_id).first()
    if order is None or not order.email:
        return False
    try:
        with transaction.atomic():
            notification, _ = Notification.objects.select_for_update().get_or_create(
                order=order, kind=kind, reference=reference, defaults={"recipient": order.email}
            )
            if notification.sent_at is not None:
                return False
            fulfillment = (
                Fulfillment.objects.filter(pk=int(reference)).first() if is_id(reference) else None
            )
            send_mail(
                SUBJECTS[kind].format(number=order.number),
                _body(order, kind, fulfillment),
                settings.DEFAULT_FROM_EMAIL,
                [order.email],
            )
            notification.sent_at = timezone.now()
            notification.save(update_fields=["sent_at"])
    except IntegrityError:  # another worker claimed it at the same moment
        return False
    return True
