"""Periodic API housekeeping."""

from __future__ import annotations

from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from channels_api.models import IdempotencyRecord


@shared_task(acks_late=True, ignore_result=True)
def idempotency_records_purge_task() -> int:
    """Delete stored idempotent responses older than IDEMPOTENCY_TTL_HOURS (24 by default)."""
    cutoff = timezone.now() - timedelta(hours=settings.IDEMPOTENCY_TTL_HOURS)
    deleted, _ = IdempotencyRecord.objects.filter(created_at__lt=cutoff).delete()
    return deleted
