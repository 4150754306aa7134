"""Record domain events into the outbox, inside the caller's transaction, and fan them out.

The outbox row is the source of truth; the Celery message sent after commit is only
a nudge to dispatch sooner than the periodic run (every few seconds) would. Nudges
are debounced across processes: while one is queued and its run has not started, the
next commits send none (see `dispatcher_nudge`).
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from django.core.cache import cache, caches
from django.core.cache.backends.locmem import LocMemCache
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from backoffice import task_names
from backoffice.jobs import send_now, tasks_run_in_process
from backoffice.outbox.locks import webhook_endpoints_share_active
from backoffice.outbox.models import OutboxEvent, WebhookDelivery

logger = logging.getLogger(__name__)

DISPATCH_TASK = task_names.OUTBOX_DISPATCH
# Set (in the shared cache) while a nudge is queued and its dispatcher run has not started.
NUDGE_PENDING_KEY = "outbox:dispatch-nudge-pending"
# Short: a flag whose message was lost (or whose run waits behind a long queue) only
# silences nudges this long; beat's run catches up on anything in between.
NUDGE_PENDING_SECONDS = 5


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
    return OutboxEvent.objects.bulk_create(events_build(events))


def events_build(events: list[dict[str, Any]], *, nudge: bool = True) -> list[OutboxEvent]:
    """The rows of `events_record`, not yet inserted: the caller inserts them in this
    transaction (with other rows in one statement, `backoffice.sql.rows_insert`). Reads the
    sequences only for items without one; the dispatcher is nudged after commit.

    `nudge=False`: the caller sends, after the same commit, a task whose worker nudges the
    dispatcher itself (`order_placed_task`): one broker message from this process
    instead of two. Whatever that message meets, the events are in the outbox, and
    beat's periodic run of the dispatcher takes them."""
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
    if nudge and not _nudge_pending():
        transaction.on_commit(dispatcher_nudge, robust=True)
    return rows_to_insert


def _nudge_pending() -> bool:
    """Whether this transaction already nudges the dispatcher when it commits."""
    connection = transaction.get_connection()
    if not connection.in_atomic_block:
        return False
    return any(entry[1] is dispatcher_nudge for entry in connection.run_on_commit)


def dispatcher_nudge() -> None:
    """Queue one dispatcher run, unless one is already queued and has not started yet.

    A burst of commits from any number of processes sends one message: the first sets
    the shared "nudge pending" flag (`cache.add` is atomic) and sends; the others find
    it set and send nothing. No event is missed, because `outbox_dispatch` clears the
    flag at its start, before it reads the events:
    - a commit that found the flag set did so before the run cleared it, so it had
      committed before the run's query, which therefore sees its events (or leaves
      them to the run that holds them, or to the next run past its batch limit);
    - a commit after the flag was cleared sets it again and sends a new nudge;
    - a send that fails (broker down, or this process pausing sends) clears the flag
      again, and the flag expires after a few seconds anyway (a message lost on the
      way), so nudges are never silenced for long; beat's periodic run of
      `outbox_dispatch` picks up whatever was recorded meanwhile.
    The flag must be one that workers clear: with the in-process memory cache (no
    `CACHE_URL`) every commit nudges, as without the flag. Without a broker the
    dispatcher runs in this process at once. One try; errors (broker or cache) are
    only logged, never raised to the caller, whose transaction has committed.
    """
    if tasks_run_in_process() or isinstance(caches["default"], LocMemCache):
        send_now(DISPATCH_TASK)
        return
    try:
        first = cache.add(NUDGE_PENDING_KEY, 1, timeout=NUDGE_PENDING_SECONDS)
    except Exception as error:
        # Without the shared flag, nudge as if it were clear: one message too many is harmless.
        logger.warning("Could not set the outbox nudge flag (%s); nudging anyway.", error)
        first = True
    if first and not send_now(DISPATCH_TASK):
        dispatcher_nudge_done()


def dispatcher_nudge_done() -> None:
    """Clear the "nudge pending" flag: the next commit nudges again. Errors are only logged."""
    try:
        cache.delete(NUDGE_PENDING_KEY)
    except Exception as error:
        logger.warning("Could not clear the outbox nudge flag (%s); it expires soon.", error)


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
        # Shared until commit, so a deletion meanwhile waits or is seen (backoffice.outbox.locks)
        endpoints = webhook_endpoints_share_active()
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
