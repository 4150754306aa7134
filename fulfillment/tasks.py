"""Fulfillment jobs: plan shipments for confirmed orders, and email customers.

Tasks take ids, load, call one service, and are safe to run twice. A sweep
finds confirmed orders that were never planned (their nudge was lost while the
broker was down), so nothing waits forever. A placed order sends one message,
`order_placed_task`, which does in the worker what would have been three sends
from the web request (the outbox dispatcher's nudge, the email, the plan).
"""

from __future__ import annotations

import logging
from datetime import timedelta

from celery import shared_task
from django.db import OperationalError
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerError

from backoffice import task_names
from backoffice.outbox.services import dispatcher_nudge
from fulfillment.models import Fulfillment, Notification
from fulfillment.notifications import notification_send
from fulfillment.services import fulfillments_plan, order_complete_if_delivered
from orders.models import Order

logger = logging.getLogger(__name__)
TRANSIENT = (OperationalError, ConnectionError, TimeoutError)


@shared_task(
    name=task_names.FULFILLMENTS_PLAN,
    bind=True,
    acks_late=True,
    ignore_result=True,
    autoretry_for=TRANSIENT,
    retry_backoff=True,
    retry_backoff_max=600,
    max_retries=10,
)
def fulfillments_plan_task(self, order_id: int) -> int:
    order = Order.objects.filter(pk=order_id).first()
    return 0 if order is None else len(fulfillments_plan(order=order))


@shared_task(name=task_names.FULFILLMENTS_PLAN_SWEEP, acks_late=True, ignore_result=True)
def fulfillments_plan_sweep_task() -> int:
    """Plan confirmed orders of the last week that have no shipment yet."""
    since = timezone.now() - timedelta(days=7)
    orders = Order.objects.filter(
        status=Order.Status.CONFIRMED,
        created_at__gte=since,
        fulfillment_status=Order.FulfillmentStatus.UNFULFILLED,
    ).exclude(
        fulfillments__status__in=[
            s for s in Fulfillment.Status.values if s != Fulfillment.Status.CANCELLED
        ]
    )
    planned = 0
    for order in orders[:500]:
        planned += len(fulfillments_plan(order=order))
    return planned


@shared_task(
    name=task_names.NOTIFY_CUSTOMER,
    bind=True,
    acks_late=True,
    ignore_result=True,
    autoretry_for=(*TRANSIENT, OSError),
    retry_backoff=True,
    retry_backoff_max=3600,
    max_retries=12,
)
def notify_customer_task(self, order_id: int, kind: str, reference: str = "") -> bool:
    return notification_send(order_id=order_id, kind=kind, reference=reference)


@shared_task(
    name=task_names.ORDER_COMPLETE_IF_DELIVERED,
    bind=True,
    acks_late=True,
    ignore_result=True,
    autoretry_for=TRANSIENT,
    retry_backoff=True,
    max_retries=10,
)
def order_complete_if_delivered_task(self, order_id: int) -> bool:
    order = Order.objects.filter(pk=order_id).first()
    return False if order is None else order_complete_if_delivered(order=order)


@shared_task(
    name=task_names.ORDER_PLACED,
    bind=True,
    acks_late=True,
    ignore_result=True,
    autoretry_for=(*TRANSIENT, BrokerError),  # BrokerError: queueing the email failed
    retry_backoff=True,
    retry_backoff_max=600,
    max_retries=10,
)
def order_placed_task(self, order_id: int) -> int:
    """After checkout: queue the "placed" email, then plan the order if it is confirmed.

    The email is its own task, so its retries (a mail server down) never re-plan, and
    it is queued before planning so that a planning failure never holds it back. A
    retry of this task (or a second run) queues it again, which sends nothing twice:
    `notification_send` sends once per order and kind. `fulfillments_plan` plans
    confirmed orders only, and once. Returns how many fulfillments were planned.
    """
    # Checkout leaves the outbox's nudge to this message (one send from the request): the
    # order's events are committed, and a run of the dispatcher delivers them. First, so a
    # failure below never delays them; a retry nudges again, which the flag makes cheap.
    dispatcher_nudge()
    order = Order.objects.filter(pk=order_id).only("pk", "email").first()
    if order is None:
        return 0
    if order.email:
        notify_customer_task.delay(order.pk, Notification.Kind.PLACED.value)
    return len(fulfillments_plan(order=order))
