"""Periodic orders jobs."""

from __future__ import annotations

from celery import shared_task

from backoffice import task_names
from orders.services import orders_cancel_stale_unpaid, payments_reconcile


@shared_task(name=task_names.ORDERS_CANCEL_STALE_UNPAID, acks_late=True, ignore_result=True)
def orders_cancel_stale_unpaid_task() -> int:
    """Cancel unpaid orders past their channel's limit; safe to run twice (each re-checks)."""
    return orders_cancel_stale_unpaid()


@shared_task(name=task_names.PAYMENTS_RECONCILE, acks_late=True, ignore_result=True)
def payments_reconcile_task() -> dict[str, int]:
    """Settle payment sessions open past their window and lost money movements; safe to run
    twice (each settles only what is still pending)."""
    return payments_reconcile()
