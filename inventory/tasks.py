"""Inventory background jobs (Celery beat, every minute): purge expired reservations, and
give back the allocations of checkouts that died before their order committed."""

from __future__ import annotations

import logging
from datetime import timedelta

from celery import shared_task
from django.conf import settings

from backoffice import task_names
from inventory.services import allocations_sweep_orphaned, reservations_purge_expired

logger = logging.getLogger(__name__)


@shared_task(name=task_names.RESERVATIONS_PURGE_EXPIRED, acks_late=True, ignore_result=True)
def reservations_purge_expired_task() -> int:
    """Delete expired reservations; returns how many rows went.

    Expired holds already stopped counting when they expired, so this only keeps
    the table small. Safe to run twice or concurrently: a second run finds nothing.
    """
    deleted = reservations_purge_expired()
    if deleted:
        logger.info("Purged %d expired reservation(s).", deleted)
    return deleted


@shared_task(name=task_names.ALLOCATIONS_SWEEP_ORPHANED, acks_late=True, ignore_result=True)
def allocations_sweep_orphaned_task() -> int:
    """Give back allocations of checkout holders older than
    `INVENTORY_ORPHAN_ALLOCATION_MINUTES` (a checkout's process died between its
    allocation and its order's commit); returns the units freed. Safe to run twice or
    concurrently, and beside checkouts (`allocations_sweep_orphaned`)."""
    freed = allocations_sweep_orphaned(
        older_than=timedelta(minutes=settings.INVENTORY_ORPHAN_ALLOCATION_MINUTES)
    )
    if freed:
        logger.warning("Gave back %d unit(s) allocated to checkouts that placed no order.", freed)
    return freed
