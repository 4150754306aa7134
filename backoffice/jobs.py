"""Queue a Celery task by name after the current transaction commits, never failing the caller.

Domain apps use it to trigger work in apps they must not import (orders → fulfillment).
A broker that is down is logged; periodic sweeps pick the work up later, so
nothing is lost and the request that changed the data still succeeds.
"""

from __future__ import annotations

import logging

from django.db import transaction

logger = logging.getLogger(__name__)


def enqueue_after_commit(task_name: str, *args: object) -> None:
    """Send `task_name(*args)` once the surrounding transaction has committed."""

    def send() -> None:
        from backoffice.celery import app

        try:
            if app.conf.task_always_eager:
                app.tasks[task_name].apply(args=args)
            else:
                app.send_task(task_name, args=args, retry=False)
        except Exception as error:
            logger.warning(
                "Could not queue %s%s (%s); a sweep will catch up.", task_name, args, error
            )

    transaction.on_commit(send)
