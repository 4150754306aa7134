"""End to end with real Celery processes: commit → worker → signed POST, crashes, Redis outage,
and a burst of commits that shares one dispatcher nudge.

Each test bounds its waits (see `wait_until`) and stops what it started.
"""

from __future__ import annotations

import time

import pytest
from django.core.cache import cache
from django.db import transaction

from backoffice.outbox import services as outbox_services
from backoffice.outbox.models import OutboxEvent, WebhookDelivery
from backoffice.outbox.services import DISPATCH_TASK, NUDGE_PENDING_KEY, dispatcher_nudge_done
from backoffice.outbox.signing import signature_verify
from backoffice.outbox.tasks import outbox_dispatch
from inventory.services import stock_adjust
from tests.factories import make_channel, make_product, make_warehouse, receive
from tests.outbox.conftest import app_broker, endpoint_for, queued_tasks, record, wait_until
from tests.parallel import run_parallel

pytestmark = pytest.mark.django_db(transaction=True)

# A short timeout makes the claim of a killed worker expire in seconds (the lease is the
# timeout plus 5 s at least).
FAST = {"WEBHOOK_TIMEOUT_SECONDS": "2", "WEBHOOK_LEASE_SECONDS": "1"}


def delivered(event: OutboxEvent) -> WebhookDelivery | None:
    return WebhookDelivery.objects.filter(event=event, status="succeeded").first()


def test_committed_event_is_delivered_signed_by_a_worker(receiver, test_broker, start_celery):
    endpoint = endpoint_for(receiver, events=["stock.low"])
    start_celery("worker", test_broker)
    channel = make_channel("shop")
    product = make_product(channels=[channel])
    variant = product.variants.get()
    warehouse = make_warehouse(channels=[channel])
    receive(variant, warehouse, 10)

    with transaction.atomic():  # a service's transaction: the event commits with the change
        stock_adjust(variant=variant, warehouse=warehouse, delta=-8, actor="test")

    event = OutboxEvent.objects.get(type="stock.low")
    [request] = receiver.wait_for(1)
    assert request.json["id"] == str(event.id)
    assert request.json["type"] == "stock.low"
    assert request.json["data"]["sku"] == variant.sku
    assert request.json["data"]["available"] == 2
    assert signature_verify(
        header=request.headers["Backoffice-Signature"], body=request.body, secret=endpoint.secret
    )
    delivery = wait_until(lambda: delivered(event))
    assert delivery.attempts == 1 and delivery.last_status_code == 200


def test_worker_killed_mid_delivery_the_event_arrives_with_one_delivery_row(
    make_receiver, test_broker, start_celery
):
    receiver = make_receiver(block_first=True)
    endpoint = endpoint_for(receiver)
    first_worker = start_celery("worker", test_broker, **FAST)
    event = record()
    receiver.wait_for(1)  # the worker is inside the POST, waiting for the answer

    first_worker.kill()
    receiver.release.set()
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == "pending" and delivery.attempts == 1  # claimed, never finished

    start_celery("worker", test_broker, **FAST)

    # The killed worker's message stays unacknowledged until the visibility timeout; the
    # periodic dispatcher (beat, here called by hand) queues the delivery again once the
    # dead worker's claim has expired.
    def redelivered() -> bool:
        outbox_dispatch.delay()
        time.sleep(1)
        return delivered(event) is not None

    wait_until(redelivered, timeout=40, step=0)

    assert len(receiver.requests) >= 2
    assert {r.json["id"] for r in receiver.requests} == {str(event.id)}
    assert {r.headers["Backoffice-Event-Id"] for r in receiver.requests} == {str(event.id)}
    assert WebhookDelivery.objects.filter(endpoint=endpoint, event=event).count() == 1
    assert WebhookDelivery.objects.get().attempts == 2


def test_event_recorded_while_redis_is_down_is_delivered_after_it_returns(
    receiver, private_redis, start_celery
):
    with app_broker(private_redis.url):
        endpoint_for(receiver)
        start_celery("worker", private_redis.url)
        start_celery("beat", private_redis.url, WEBHOOK_DISPATCH_INTERVAL_SECONDS="1")
        private_redis.stop()

        started = time.monotonic()
        event = record()  # commits; the nudge after commit fails and is only logged
        assert time.monotonic() - started < 5

        assert OutboxEvent.objects.filter(pk=event.pk, dispatched_at__isnull=True).exists()
        time.sleep(1)
        assert receiver.requests == []
        private_redis.start()

        [request] = receiver.wait_for(1, timeout=45)
        assert request.json["id"] == str(event.id)
        assert wait_until(lambda: delivered(event))


def test_a_burst_of_commits_sends_one_nudge_and_the_worker_delivers_every_event(
    receiver, test_broker, start_celery, published, monkeypatch
):
    # Long enough to outlive the test: the flag can only be cleared by the dispatcher run.
    monkeypatch.setattr(outbox_services, "NUDGE_PENDING_SECONDS", 60)
    endpoint_for(receiver)
    dispatcher_nudge_done()  # no nudge pending

    # Ten transactions commit an event each, at the same moment, on their own connections.
    events = run_parallel(10, lambda _: record())

    assert all(isinstance(event, OutboxEvent) for event in events), events
    assert queued_tasks(test_broker) == [(DISPATCH_TASK, [])]
    assert published == [DISPATCH_TASK]
    assert cache.get(NUDGE_PENDING_KEY) == 1

    start_celery("worker", test_broker)

    requests = receiver.wait_for(10)
    assert sorted(r.json["id"] for r in requests) == sorted(str(event.id) for event in events)
    wait_until(lambda: cache.get(NUDGE_PENDING_KEY) is None)  # cleared by the run itself

    later = record()  # the next commit finds the flag clear and nudges again
    assert published == [DISPATCH_TASK, DISPATCH_TASK]
    requests = receiver.wait_for(11)
    assert requests[-1].json["id"] == str(later.id)
    assert len(requests) == 11
