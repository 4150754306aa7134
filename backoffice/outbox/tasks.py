"""Outbox background jobs: dispatch events to webhook deliveries and send each delivery."""

from __future__ import annotations

import logging

from celery import shared_task

from backoffice import task_names
from backoffice.outbox.deliveries import deliveries_queue_due, delivery_attempt
from backoffice.outbox.services import dispatcher_nudge_done, event_fan_out

logger = logging.getLogger(__name__)

# One run fans out at most this many batches, so a backlog is spread over several runs.
MAX_BATCHES_PER_RUN = 10


@shared_task(name=task_names.OUTBOX_DISPATCH, acks_late=True, ignore_result=True)
def outbox_dispatch() -> int:
    """Fan out undispatched events, then queue one `webhook_deliver` per due delivery.

    Runs after each commit that recorded events (a nudge) and every few seconds
    from beat, which also picks up retries that came due and deliveries whose
    worker died. Safe to run twice or concurrently. Returns how many were queued.
    """
    # First, before reading any event: a commit that still finds the nudge flag set has
    # committed already and is seen by the queries below; any later commit finds the
    # flag clear and nudges again (the argument in full: `dispatcher_nudge`).
    dispatcher_nudge_done()
    for _ in range(MAX_BATCHES_PER_RUN):
        if not event_fan_out():
            break
    delivery_ids = deliveries_queue_due()
    for delivery_id in delivery_ids:
        webhook_deliver.delay(delivery_id)
    return len(delivery_ids)


@shared_task(name=task_names.WEBHOOK_DELIVER, acks_late=True, ignore_result=True)
def webhook_deliver(delivery_id: int) -> str:
    """Attempt one delivery. Never raises: failures are retried on the delivery's schedule.

    A delivery that succeeded, is not due or is being sent by another worker is
    skipped, so running it twice sends it once.
    """
    try:
        delivery = delivery_attempt(delivery_id=delivery_id)
    except Exception:
        logger.exception(
            "Webhook delivery %s failed unexpectedly; the dispatcher retries.", delivery_id
        )
        return "error"
    return delivery.status if delivery is not None else "skipped"
