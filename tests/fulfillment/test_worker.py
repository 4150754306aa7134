"""With real Celery workers on Redis and PostgreSQL: a confirmed order is planned for
shipping and announced by signed webhooks, and a worker killed mid-job loses nothing."""

from __future__ import annotations

import pytest

from backoffice.outbox.models import OutboxEvent
from backoffice.outbox.signing import signature_verify
from backoffice.outbox.tasks import outbox_dispatch
from catalog.models import Channel
from fulfillment.models import Fulfillment, Notification
from fulfillment.tasks import fulfillments_plan_sweep_task
from orders.models import Order
from tests.conftest import Api
from tests.factories import make_key, make_product, make_warehouse, receive
from tests.outbox.conftest import endpoint_for, wait_until

pytestmark = pytest.mark.django_db(transaction=True)

WORKER_ENV = {
    "EMAIL_BACKEND": "django.core.mail.backends.console.EmailBackend",
    "WEBHOOK_TIMEOUT_SECONDS": "2",
    "WEBHOOK_LEASE_SECONDS": "1",
}
ANNOUNCED = ["order.created", "order.confirmed", "fulfillment.created"]


def place_paid_order() -> Order:
    channel = Channel.objects.create(code="web", name="Web", kind="web")
    warehouse = make_warehouse("main", channels=[channel])
    variant = make_product(slug="tee", skus={"TEE": "20.00"}, channels=[channel]).variants.get()
    receive(variant, warehouse, 10)
    response = Api(make_key(channel)[1]).post(
        "/api/v1/store/checkout",
        {
            "lines": [{"sku": "TEE", "quantity": 2}],
            "email": "ada@example.com",
            "payment": {"provider": "test", "token": "tok_approve"},
        },
    )
    assert response.status_code == 201, response.json()
    return Order.objects.get(pk=int(response.json()["id"]))


def test_a_confirmed_order_is_planned_and_announced_by_a_real_worker(
    receiver, test_broker, start_celery
):
    endpoint = endpoint_for(receiver, events=ANNOUNCED)
    start_celery("worker", test_broker, **WORKER_ENV)

    order = place_paid_order()

    fulfillment = wait_until(lambda: Fulfillment.objects.filter(order=order).first())
    assert fulfillment.warehouse.code == "main"
    assert [(line.order_line.sku, line.quantity) for line in fulfillment.lines.all()] == [
        ("TEE", 2)
    ]
    requests = receiver.wait_for(3)
    assert sorted(r.json["type"] for r in requests) == sorted(ANNOUNCED)
    for request in requests:
        assert signature_verify(
            header=request.headers["Backoffice-Signature"],
            body=request.body,
            secret=endpoint.secret,
        )
        assert request.json["data"]["order"]["token"] == str(order.token)
    sequences = {r.json["type"]: r.json["sequence"] for r in requests}
    assert sequences == {"order.created": 1, "order.confirmed": 2, "fulfillment.created": 3}
    placed_email = wait_until(
        lambda: Notification.objects.filter(
            order=order, kind="placed", sent_at__isnull=False
        ).first()
    )
    assert placed_email.recipient == "ada@example.com"


def test_worker_killed_mid_job_loses_nothing_and_doubles_nothing(
    make_receiver, test_broker, start_celery
):
    receiver = make_receiver(block_first=True)
    endpoint_for(receiver, events=ANNOUNCED)
    first = start_celery("worker", test_broker, **WORKER_ENV)

    order = place_paid_order()
    receiver.wait_for(1)  # the worker is inside a job: sending the first webhook
    first.kill()
    receiver.release.set()
    start_celery("worker", test_broker, **WORKER_ENV)

    def caught_up() -> bool:
        # What beat does every few seconds: re-plan unplanned orders, re-queue lost sends.
        fulfillments_plan_sweep_task.delay()
        outbox_dispatch.delay()
        received = {r.json["id"] for r in receiver.requests}
        events = set(
            OutboxEvent.objects.filter(type__in=ANNOUNCED, aggregate=order.holder).values_list(
                "id", flat=True
            )
        )
        return len(events) == 3 and {str(e) for e in events} <= received

    wait_until(caught_up, timeout=60, step=1.0)
    assert Fulfillment.objects.filter(order=order).count() == 1
    received_ids = [r.json["id"] for r in receiver.requests]
    assert len(set(received_ids)) == 3  # every event at least once, each with its own id
