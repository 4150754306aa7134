"""Webhook deliveries: queue the due ones, attempt one, retry with backoff, replay.

At least once, never in parallel: an attempt first claims its delivery in a short
transaction (the row lock is skipped by anyone else, and `next_attempt_at` moves
past the lease), then POSTs outside any transaction, then records the outcome.
A worker that dies mid-attempt leaves the claim to expire; the periodic dispatcher
then queues the delivery again, with the same event id.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from backoffice import task_names
from backoffice.exceptions import InvalidTransition
from backoffice.jobs import enqueue_after_commit
from backoffice.outbox.models import WebhookDelivery, WebhookEndpoint
from backoffice.outbox.sender import SendResult, webhook_post
from backoffice.outbox.signing import event_body, signature_header

logger = logging.getLogger(__name__)

Status = WebhookDelivery.Status


def delivery_retry_delay(*, attempts: int) -> timedelta | None:
    """The wait after the `attempts`-th failed attempt, or None when no retry is left."""
    schedule = settings.WEBHOOK_RETRY_SCHEDULE_SECONDS
    if 1 <= attempts <= len(schedule):
        return timedelta(seconds=schedule[attempts - 1])
    return None


def _lease() -> timedelta:
    return timedelta(seconds=settings.WEBHOOK_LEASE_SECONDS)


def deliveries_queue_due(*, now: datetime | None = None, limit: int = 500) -> list[int]:
    """Mark due deliveries as queued and return their ids; the caller queues one task each.

    A delivery queued less than a lease ago is left alone, so frequent dispatcher
    runs do not flood the broker; if its task never runs, it is queued again.
    """
    now = now or timezone.now()
    with transaction.atomic():
        ids = list(
            WebhookDelivery.objects.select_for_update(skip_locked=True)
            .filter(status__in=WebhookDelivery.OPEN, next_attempt_at__lte=now)
            .filter(Q(queued_until__isnull=True) | Q(queued_until__lte=now))
            .order_by("next_attempt_at", "id")
            .values_list("id", flat=True)[:limit]
        )
        WebhookDelivery.objects.filter(pk__in=ids).update(queued_until=now + _lease())
    return ids


def _claim(delivery_id: int, now: datetime) -> WebhookDelivery | None:
    """Take a due delivery for one attempt, or None (not due, done, or someone has it)."""
    with transaction.atomic():
        delivery = (
            WebhookDelivery.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("endpoint", "event")
            .filter(pk=delivery_id, status__in=WebhookDelivery.OPEN, next_attempt_at__lte=now)
            .first()
        )
        if delivery is None:
            return None
        if not delivery.endpoint.active:
            delivery.status = Status.ABANDONED
            delivery.next_attempt_at = None
            delivery.queued_until = None
            delivery.last_error = "The endpoint is disabled."
            delivery.save()
            return None
        delivery.attempts += 1
        delivery.last_attempt_at = now
        delivery.next_attempt_at = now + _lease()
        delivery.save(update_fields=["attempts", "last_attempt_at", "next_attempt_at"])
    return delivery


def _send(delivery: WebhookDelivery, now: datetime) -> SendResult:
    event, endpoint = delivery.event, delivery.endpoint
    body = event_body(event)
    signature = signature_header(
        secrets=endpoint.signing_secrets(now), timestamp=int(time.time()), body=body
    )
    return webhook_post(
        url=endpoint.url,
        body=body,
        headers={
            "Backoffice-Signature": signature,
            "Backoffice-Event-Id": str(event.id),
            "Backoffice-Event-Type": event.type,
        },
        timeout=settings.WEBHOOK_TIMEOUT_SECONDS,
        allow_private=settings.WEBHOOK_ALLOW_PRIVATE_URLS,
    )


def delivery_attempt(*, delivery_id: int, now: datetime | None = None) -> WebhookDelivery | None:
    """Send a due delivery once and record the outcome; None when there was nothing to do.

    2xx → `succeeded`. Anything else, a timeout or a refused address → `failed`
    with the next attempt after WEBHOOK_RETRY_SCHEDULE_SECONDS, or `abandoned`
    when the schedule is used up. A delivery whose endpoint is off is abandoned
    unsent. Each failure counts against the endpoint, which is disabled after
    WEBHOOK_DISABLE_AFTER_FAILURES in a row; a success resets the count.
    Safe to call twice: a delivery that is done, not due or being sent is skipped.
    """
    now = now or timezone.now()
    delivery = _claim(delivery_id, now)
    if delivery is None:
        return None
    result = _send(delivery, now)
    claimed_attempts = delivery.attempts
    with transaction.atomic():
        delivery = WebhookDelivery.objects.select_for_update().filter(pk=delivery_id).first()
        if delivery is None:
            return None  # its endpoint was deleted meanwhile
        if not result.succeeded and (delivery.attempts != claimed_attempts or not delivery.is_open):
            return delivery  # replayed, abandoned or delivered meanwhile: that state wins
        delivery.last_status_code = result.status_code
        delivery.last_response_ms = result.response_ms
        delivery.last_error = result.error
        delivery.queued_until = None
        if result.succeeded:
            delivery.status = Status.SUCCEEDED
            delivery.next_attempt_at = None
            delivery.delivered_at = now
        else:
            delay = delivery_retry_delay(attempts=claimed_attempts)
            delivery.status = Status.FAILED if delay else Status.ABANDONED
            delivery.next_attempt_at = now + delay if delay else None
        delivery.save()
    _endpoint_count(delivery.endpoint_id, succeeded=result.succeeded, now=now)
    return delivery


def _endpoint_count(endpoint_id: int, *, succeeded: bool, now: datetime) -> None:
    """Reset or bump the endpoint's failure run; disable it when the run is too long."""
    if succeeded:
        WebhookEndpoint.objects.filter(pk=endpoint_id, consecutive_failures__gt=0).update(
            consecutive_failures=0
        )
        return
    limit = settings.WEBHOOK_DISABLE_AFTER_FAILURES
    with transaction.atomic():
        endpoint = (
            WebhookEndpoint.objects.select_for_update(no_key=True).filter(pk=endpoint_id).first()
        )
        if endpoint is None:
            return
        endpoint.consecutive_failures += 1
        disable = bool(limit) and endpoint.active and endpoint.consecutive_failures >= limit
        if disable:
            endpoint.active = False
            endpoint.disabled_at = now
        endpoint.save(update_fields=["consecutive_failures", "active", "disabled_at"])
    if disable:
        # After the endpoint's lock is released, so lock order stays delivery → endpoint.
        abandoned = WebhookDelivery.objects.filter(
            endpoint_id=endpoint_id, status__in=WebhookDelivery.OPEN
        ).update(
            status=Status.ABANDONED,
            next_attempt_at=None,
            queued_until=None,
            last_error=f"The endpoint was disabled after {limit} failures in a row.",
            updated_at=now,
        )
        logger.warning(
            "Webhook endpoint %s disabled after %d failures in a row; %d deliveries abandoned.",
            endpoint_id,
            limit,
            abandoned,
        )


def delivery_replay(*, delivery: WebhookDelivery, now: datetime | None = None) -> WebhookDelivery:
    """Send a delivery again now, whatever its state, with the same event id.

    Its retry schedule starts over. Raises InvalidTransition when the endpoint is
    off (turn it back on first). Queues the attempt after commit; if the broker is
    down, the periodic dispatcher sends it.
    """
    now = now or timezone.now()
    with transaction.atomic():
        delivery = (
            WebhookDelivery.objects.select_for_update(of=("self",))
            .select_related("endpoint", "event")
            .get(pk=delivery.pk)
        )
        if not delivery.endpoint.active:
            raise InvalidTransition(
                entity="webhook endpoint", current="disabled", action="replay to"
            )
        delivery.status = Status.PENDING
        delivery.attempts = 0
        delivery.next_attempt_at = now
        delivery.queued_until = None
        delivery.delivered_at = None
        delivery.save()
        enqueue_after_commit(task_names.WEBHOOK_DELIVER, delivery.pk)
    return delivery
