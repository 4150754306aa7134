"""Periodic housekeeping: the retention purge of every table that only grows, and the
API keys' rotation reminders (`channels_api.key_expiry`).

It lives here, in the top layer, because it sees every app's tables: the outbox and the
audit trail (`backoffice.retention`) and the API's stored idempotent answers.
"""

from __future__ import annotations

from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from backoffice import task_names
from backoffice.retention import (
    audit_entries_purge,
    outbox_events_purge,
    rows_purge,
    run_deadline,
    webhook_deliveries_purge,
)
from channels_api.key_expiry import api_keys_warn_expiring
from channels_api.models import IdempotencyRecord


def idempotency_records_purge(*, batch_size: int, deadline: float) -> int:
    """Stored idempotent answers older than IDEMPOTENCY_TTL_HOURS (at least 24)."""
    before = timezone.now() - timedelta(hours=settings.IDEMPOTENCY_TTL_HOURS)
    return rows_purge(
        purgeable=lambda: IdempotencyRecord.objects.filter(created_at__lt=before),
        batch_size=batch_size,
        deadline=deadline,
    )


@shared_task(name=task_names.RETENTION_PURGE, acks_late=True, ignore_result=True)
def retention_purge_task() -> dict[str, int]:
    """Delete what is past its age, in short batches; returns how many rows went per table.

    Safe to run twice or concurrently (a batch deletes only what is still there). A run
    stops after a couple of minutes and the next hourly run carries on.
    """
    deadline = run_deadline()
    size = settings.RETENTION_BATCH_SIZE
    return {
        "idempotency_records": idempotency_records_purge(batch_size=size, deadline=deadline),
        "webhook_deliveries": webhook_deliveries_purge(
            days=settings.WEBHOOK_DELIVERY_RETENTION_DAYS, batch_size=size, deadline=deadline
        ),
        "outbox_events": outbox_events_purge(
            days=settings.OUTBOX_RETENTION_DAYS, batch_size=size, deadline=deadline
        ),
        "audit_entries": audit_entries_purge(
            days=settings.AUDIT_RETENTION_DAYS, batch_size=size, deadline=deadline
        ),
    }


@shared_task(name=task_names.API_KEYS_WARN_EXPIRING, acks_late=True, ignore_result=True)
def api_keys_warn_expiring_task() -> int:
    """Record `api_key.expiring` for keys entering the warning window; returns how many.

    Safe to run twice or concurrently: what was warned is read from the outbox.
    """
    return api_keys_warn_expiring()
