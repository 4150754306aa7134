"""Queue a Celery task by name after the current transaction commits, never failing the caller.

Domain apps use it to trigger work in apps they must not import (orders → fulfillment).
A broker that is down is logged, and for a few seconds no further sends are tried
from this process (so requests don't each wait for it); periodic sweeps pick the
work up later, so nothing is lost and the request that changed the data succeeds.
"""

from __future__ import annotations

import logging
import threading
import time

from django.conf import settings
from django.db import transaction
from django.db.models import Model

from backoffice.task_messages import task_message_publish

logger = logging.getLogger(__name__)


# Without a broker, a task sent with a countdown runs on a timer thread of this process.
IN_PROCESS_TIMERS = True


class BrokerBreaker:
    """Per process: after a failed send, skip sends until `paused_until` (monotonic)."""

    paused_until = 0.0

    @classmethod
    def open(cls) -> bool:
        return time.monotonic() < cls.paused_until

    @classmethod
    def trip(cls) -> None:
        cls.paused_until = time.monotonic() + settings.BROKER_RETRY_PAUSE_SECONDS


def tasks_run_in_process() -> bool:
    """Whether there is no broker and tasks run in this process (`make run`)."""
    from backoffice.celery import app

    return bool(app.conf.task_always_eager)


def send_now(task_name: str, *args: object, countdown: float = 0) -> bool:
    """Send one task message (or run it in-process without a broker); False when skipped.

    `countdown`: run it that many seconds from now. In-process, a timer thread of this
    process runs it then (lost if the process stops: the periodic sweeps cover it where
    beat runs).
    """
    from backoffice.celery import app

    if tasks_run_in_process():
        app.loader.import_default_modules()  # tasks register when their modules load
        if countdown > 0:
            if not IN_PROCESS_TIMERS:
                return False
            timer = threading.Timer(countdown, lambda: app.tasks[task_name].apply(args=args))
            timer.daemon = True
            timer.start()
            return True
        app.tasks[task_name].apply(args=args)
        return True
    if BrokerBreaker.open():
        return False
    try:
        # The same message as `send_task`'s, on a producer this thread keeps (cheaper, and
        # the web process sends one per placed order); `send_task` for what it does not do.
        if countdown or not task_message_publish(app, task_name, args):
            app.send_task(task_name, args=args, retry=False, countdown=countdown or None)
        return True
    except Exception as error:
        BrokerBreaker.trip()
        logger.warning("Could not queue %s%s (%s); a sweep will catch up.", task_name, args, error)
        return False


def enqueue_after_commit(
    task_name: str, *args: object, countdown: float = 0, row: Model | None = None
) -> None:
    """Send `task_name(*args)` once the surrounding transaction has committed (never on a
    rollback).

    With `row`, the task gets the row's primary key first, `task_name(row.pk, *args)`, read
    at commit: a row this transaction inserts after the call (a checkout's delivery, written
    by the statement that writes the order's rows) has its key by then.
    """

    def send() -> None:
        keys = () if row is None else (row.pk,)
        send_now(task_name, *keys, *args, countdown=countdown)

    # robust: a failure here is logged; the change it follows has already committed.
    transaction.on_commit(send, robust=True)
