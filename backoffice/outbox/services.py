"""Record domain events into the outbox, inside the caller's transaction, and fan them out.

The outbox row is the source of truth; the Celery message sent after commit is only
a nudge to dispatch sooner than the periodic run (every few seconds) would.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from backoffice.jobs import send_now
from backoffice.outbox.models import OutboxEvent, WebhookDelivery, WebhookEndpoint

logger = logging.getLogger(__name__)


def event_record(
    *,
    type: str,
    aggregate: str,
    data: dict[str, Any],
    channel_code: str = "",
    sequence: int | None = None,
) -> OutboxEvent:
    """Write one event. The caller holds a lock on the aggregate, so `sequence` cannot race.

    A caller that knows the sequence (a brand-new aggregate starts at 1) passes it.
    After commit, the dispatcher is nudged once per transaction; a broker that is
    down is logged, never raised, so recording an event never fails on Redis.
    """
    if sequence is None:
        last = OutboxEvent.objects.filter(aggregate=aggregate).aggregate(last=Max("sequence"))
        sequence = (last["last"] or 0) + 1
    event = OutboxEvent.objects.create(
        type=type,
        aggregate=aggregate,
        sequence=sequence,
        data=data,
        channel_code=channel_code,
    )
    if not _nudge_pending():
        transaction.on_commit(dispatcher_nudge, robust=True)
    return event


def events_record(events: list[dict[str, Any]]) -> list[OutboxEvent]:
    """Write several events with two queries at most (sequences, then one insert).

    Each item has the keyword arguments of `event_record`; items without a
    `sequence` are numbered after the aggregate's last event, in list order.
    """
    if not events:
        return []
    unnumbered = {item["aggregate"] for item in events if item.get("sequence") is None}
    last: dict[str, int] = {}
    if unnumbered:
        rows = (
            OutboxEvent.objects.filter(aggregate__in=unnumbered)
            .values("aggregate")
            .annotate(last=Max("sequence"))
        )
        last = {row["aggregate"]: row["last"] for row in rows}
    rows_to_insert = []
    for item in events:
        sequence = item.get("sequence")
        if sequence is None:
            sequence = last.get(item["aggregate"], 0) + 1
            last[item["aggregate"]] = sequence
        rows_to_insert.append(
            OutboxEvent(
                type=item["type"],
                aggregate=item["aggregate"],
                sequence=sequence,
                data=item["data"],
                channel_code=item.get("channel_code", ""),
            )
        )
    created = OutboxEvent.objects.bulk_create(rows_to_insert)
    if not _nudge_pending():
        transaction.on_commit(dispatcher_nudge, robust=True)
    return created


def _nudge_pending() -> bool:
    """Whether this transaction already nudges the dispatcher when it commits."""
    connection = transaction.get_connection()
    if not connection.in_atomic_block:
        return False
    return any(entry[1] is dispatcher_nudge for entry in connection.run_on_commit)


def dispatcher_nudge() -> None:
    """Queue one dispatcher run now: one try, errors only logged (`backoffice.jobs`)."""
    send_now("backoffice.outbox.tasks.outbox_dispatch")


def event_fan_out(*, now: datetime | None = None, batch_size: int = 200) -> int:
    """Give each undispatched event one delivery per active endpoint that wants it.

    Takes the oldest undispatched events with `FOR UPDATE SKIP LOCKED`, so
    concurrent dispatchers split the work instead of waiting or doubling it;
    creates the deliveries (the unique pair makes a repeat a no-op) and marks the
    events dispatched, in one transaction. Returns how many events it took.
    """
    now = now or timezone.now()
    with transaction.atomic():
        events = list(
            OutboxEvent.objects.select_for_update(skip_locked=True)
            .filter(dispatched_at__isnull=True)
            .order_by("created_at", "id")[:batch_size]
        )
        if not events:
            return 0
        endpoints = list(WebhookEndpoint.objects.filter(active=True))
        WebhookDelivery.objects.bulk_create(
            [
                WebhookDelivery(endpoint=endpoint, event=event, next_attempt_at=now)
                for event in events
                for endpoint in endpoints
                if endpoint.wants(event)
            ],
            ignore_conflicts=True,
        )
        OutboxEvent.objects.filter(pk__in=[event.pk for event in events]).update(dispatched_at=now)
    return len(events)
