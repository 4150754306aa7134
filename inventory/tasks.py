"""Inventory background jobs: purge expired reservations (Celery beat, every minute)."""

from __future__ import annotations

import logging

from celery import shared_task

from backoffice import task_names
from inventory.services import reservations_purge_expired

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
