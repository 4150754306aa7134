"""Retention: delete rows past their age in small batches that never hold a table for long.

Each purge takes the ids of at most `batch_size` rows past their age (one indexed SELECT,
no lock), then deletes those rows in a transaction of its own, repeating its condition
in the DELETE so that a row that changed meanwhile stays. No statement touches more than
a batch of rows, no transaction spans two batches, and a run stops at its deadline (the
next run carries on), so checkouts and workers never queue behind a purge.

What goes (ages from settings, see README "Configuration"; 0 keeps rows forever):
- webhook deliveries that are finished (succeeded or abandoned) and were last touched
  more than WEBHOOK_DELIVERY_RETENTION_DAYS ago;
- outbox events older than OUTBOX_RETENTION_DAYS that are no longer needed: dispatched,
  and with no delivery still pending or retrying (their finished deliveries go with them);
- audit entries older than AUDIT_RETENTION_DAYS (kept longest);
- stored idempotent answers older than IDEMPOTENCY_TTL_HOURS (at least 24 h), purged by
  the API's task with `rows_purge`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Exists, OuterRef, QuerySet
from django.utils import timezone

from backoffice.audit.models import AuditEntry
from backoffice.outbox.models import OutboxEvent, WebhookDelivery

FINISHED = (WebhookDelivery.Status.SUCCEEDED, WebhookDelivery.Status.ABANDONED)
# A run stops starting batches after this long, well inside the task's time limits.
SECONDS_PER_RUN = 120.0


def cutoff(days: int, now: datetime | None = None) -> datetime | None:
    """The moment before which rows go, or None when `days` is 0 (keep forever)."""
    if days <= 0:
        return None
    return (now or timezone.now()) - timedelta(days=days)


def rows_purge(
    *,
    purgeable: Callable[[], QuerySet],
    batch_size: int,
    deadline: float,
    delete: Callable[[list], int] | None = None,
) -> int:
    """Delete the rows `purgeable()` selects, by primary-key batches; returns how many went.

    `delete(ids)` deletes one batch (default: the rows of `purgeable()` among `ids`, so
    the condition is checked again when deleting) and returns how many rows it deleted.
    """
    delete = delete or (lambda ids: _delete(purgeable().filter(pk__in=ids)))
    deleted = 0
    while time.monotonic() < deadline:
        ids = list(purgeable().order_by().values_list("pk", flat=True)[:batch_size])
        if not ids:
            break
        with transaction.atomic():
            deleted += delete(ids)
        if len(ids) < batch_size:
            break
    return deleted


def _delete(queryset: QuerySet) -> int:
    _, per_model = queryset.only("pk").delete()
    return per_model.get(queryset.model._meta.label, 0)


def webhook_deliveries_purge(*, days: int, batch_size: int, deadline: float) -> int:
    """Finished deliveries not touched for `days` days (a replay touches one)."""
    before = cutoff(days)
    if before is None:
        return 0
    return rows_purge(
        purgeable=lambda: WebhookDelivery.objects.filter(
            status__in=FINISHED, updated_at__lt=before
        ),
        batch_size=batch_size,
        deadline=deadline,
    )


def outbox_events_purge(*, days: int, batch_size: int, deadline: float) -> int:
    """Events older than `days` days that are dispatched and wait for no delivery."""
    before = cutoff(days)
    if before is None:
        return 0
    open_deliveries = WebhookDelivery.objects.filter(
        event=OuterRef("pk"), status__in=WebhookDelivery.OPEN
    )
    any_delivery = WebhookDelivery.objects.filter(event=OuterRef("pk"))

    def purgeable() -> QuerySet[OutboxEvent]:
        return OutboxEvent.objects.filter(
            created_at__lt=before, dispatched_at__isnull=False
        ).exclude(Exists(open_deliveries))

    def delete(ids: list) -> int:
        # Finished deliveries first; an event keeps any delivery reopened meanwhile (a
        # replay), and with it stays.
        WebhookDelivery.objects.filter(event_id__in=ids, status__in=FINISHED).delete()
        return _delete(OutboxEvent.objects.filter(pk__in=ids).exclude(Exists(any_delivery)))

    return rows_purge(purgeable=purgeable, batch_size=batch_size, deadline=deadline, delete=delete)


def audit_entries_purge(*, days: int, batch_size: int, deadline: float) -> int:
    before = cutoff(days)
    if before is None:
        return 0
    return rows_purge(
        purgeable=lambda: AuditEntry.objects.filter(created_at__lt=before),
        batch_size=batch_size,
        deadline=deadline,
    )


def run_deadline() -> float:
    return time.monotonic() + SECONDS_PER_RUN
