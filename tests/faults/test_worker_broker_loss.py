"""A worker that loses its broker stops the tasks it can no longer acknowledge.

Tasks are acknowledged late: while a worker runs one, the broker still holds the message
and hands it out again once the worker's connection is gone. A task that kept running
would then run twice at once; with `worker_cancel_long_running_tasks_on_connection_loss`
the worker terminates it instead, and the redelivered message does the work once.
"""

from __future__ import annotations

import time

import pytest

from backoffice.celery import app
from backoffice.outbox.models import WebhookDelivery
from tests.outbox.conftest import app_broker, endpoint_for, record, wait_until

pytestmark = pytest.mark.django_db(transaction=True)

LOST = "Connection to broker lost"  # Celery's own log line, whatever the setting
TERMINATED = "cannot be acknowledged after a connection loss"


def test_the_app_cancels_unacknowledgeable_tasks_on_connection_loss():
    assert app.conf.worker_cancel_long_running_tasks_on_connection_loss is True
    assert app.conf.task_acks_late is True


def test_a_worker_that_loses_redis_mid_task_terminates_the_task(
    make_receiver, private_redis, start_celery
):
    receiver = make_receiver(block_first=True)  # holds the first POST until released
    with app_broker(private_redis.url):
        endpoint_for(receiver, events=["stock.low"])
        # A real pool (the solo pool runs the task in the consumer and cannot notice).
        worker = start_celery(
            "worker", private_redis.url, pool="prefork", WEBHOOK_TIMEOUT_SECONDS="60"
        )
        record()  # commits; the nudge reaches the worker, which starts the delivery
        receiver.wait_for(1)  # the task is inside the POST, waiting for the answer

        private_redis.stop()
        wait_until(lambda: LOST in worker.output(), timeout=30)
        time.sleep(1)
        receiver.release.set()  # a task still running would now record its success
        time.sleep(3)

    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("pending", 1, None)
    assert TERMINATED in worker.output()
    assert worker.process.poll() is None  # the worker itself lives on and reconnects
