"""With real Celery workers on Redis and PostgreSQL: a placed order is one message from the
web process, which a worker turns into the shipment plan and the "placed" email; a
confirmed order is announced by signed webhooks, and a worker killed mid-job loses nothing."""

from __future__ import annotations

import re

import pytest
from django.core.cache import cache

from backoffice import task_names
from backoffice.outbox import services as outbox_services
from backoffice.outbox.models import OutboxEvent
from backoffice.outbox.services import DISPATCH_TASK, NUDGE_PENDING_KEY, dispatcher_nudge_done
from backoffice.outbox.signing import signature_verify
from backoffice.outbox.tasks import outbox_dispatch
from catalog.models import Channel
from fulfillment.models import Fulfillment, Notification
from fulfillment.tasks import fulfillments_plan_sweep_task, order_placed_task
from orders.models import Order
from tests.conftest import Api
from tests.factories import SHIPPING_ADDRESS, make_key, make_product, make_warehouse, receive
from tests.outbox.conftest import endpoint_for, queued_tasks, wait_until

pytestmark = pytest.mark.django_db(transaction=True)

WORKER_ENV = {
    "EMAIL_BACKEND": "django.core.mail.backends.console.EmailBackend",
    "WEBHOOK_TIMEOUT_SECONDS": "2",
    "WEBHOOK_LEASE_SECONDS": "1",
}
ANNOUNCED = ["order.created", "order.confirmed", "fulfillment.created"]
ORDER_PLACED_TASK = task_names.ORDER_PLACED


def web_shop() -> Api:
    """A `web` channel selling TEE (20.00, 10 in stock); its publishable key's client."""
    channel = Channel.objects.create(code="web", name="Web", kind="web")
    warehouse = make_warehouse("main", channels=[channel])
    variant = make_product(slug="tee", skus={"TEE": "20.00"}, channels=[channel]).variants.get()
    receive(variant, warehouse, 10)
    return Api(make_key(channel)[1])


def checkout(api: Api, *, email: str = "ada@example.com", paid: bool = True) -> Order:
    body: dict = {
        "lines": [{"sku": "TEE", "quantity": 2}],
        "email": email,
        "shipping_address": SHIPPING_ADDRESS,
    }
    if paid:
        body["payment"] = {"provider": "test", "token": "tok_approve"}
    response = api.post("/api/v1/store/checkout", body)
    assert response.status_code == 201, response.json()
    return Order.objects.get(pk=int(response.json()["id"]))


def place_paid_order() -> Order:
    return checkout(web_shop())


def test_a_checkout_is_one_message_that_a_worker_turns_into_the_plan_and_the_email(
    test_broker, start_celery, published
):
    start_celery("worker", test_broker, **WORKER_ENV)
    api = web_shop()
    wait_until(lambda: cache.get(NUDGE_PENDING_KEY) is None)  # the shop's own nudge has run
    published.clear()

    order = checkout(api)

    # From the web process: the order's one message, even with the dispatcher's flag
    # clear; the worker nudges the dispatcher (see below).
    assert published == [ORDER_PLACED_TASK]
    fulfillment = wait_until(lambda: Fulfillment.objects.filter(order=order).first())
    assert fulfillment.warehouse.code == "main"
    assert [(line.order_line.sku, line.quantity) for line in fulfillment.lines.all()] == [
        ("TEE", 2)
    ]
    placed_email = wait_until(
        lambda: Notification.objects.filter(
            order=order, kind="placed", sent_at__isnull=False
        ).first()
    )
    assert placed_email.recipient == "ada@example.com"
    assert Fulfillment.objects.filter(order=order).count() == 1
    assert Notification.objects.filter(order=order).count() == 1


def test_each_placed_order_is_one_message_and_orders_share_a_pending_nudge(
    test_broker, monkeypatch
):
    monkeypatch.setattr(outbox_services, "NUDGE_PENDING_SECONDS", 60)  # outlives the burst
    api = web_shop()
    dispatcher_nudge_done()  # no nudge pending (nor a worker to run one)

    paid = checkout(api)
    cash_on_delivery = checkout(api, paid=False)
    paid_without_email = checkout(api, email="")
    checkout(api, email="", paid=False)  # nothing to plan nor to email: no message

    # No order nudges the dispatcher from here: the worker running its message does, and
    # the last one, with no message, finds the flag set by the stock.low event's nudge.
    assert queued_tasks(test_broker) == [
        (ORDER_PLACED_TASK, [paid.pk]),
        (ORDER_PLACED_TASK, [cash_on_delivery.pk]),
        (DISPATCH_TASK, []),  # the second order's stock crossed its low-stock threshold
        (ORDER_PLACED_TASK, [paid_without_email.pk]),
    ]
    low = OutboxEvent.objects.get(type="stock.low")
    assert low.created_at < paid_without_email.created_at


def test_the_order_message_nudges_the_dispatcher_in_the_worker(test_broker):
    api = web_shop()
    dispatcher_nudge_done()
    order = checkout(api, paid=False)  # announced (its email), nothing to plan
    assert queued_tasks(test_broker) == [(ORDER_PLACED_TASK, [order.pk])]
    dispatcher_nudge_done()

    order_placed_task.apply(args=[order.pk])  # what the worker runs

    assert (DISPATCH_TASK, []) in queued_tasks(test_broker)


def test_an_order_message_queued_while_no_worker_runs_gets_its_events_delivered(
    receiver, test_broker, start_celery
):
    """The web process sends no nudge of its own for an announced order: its events wait
    in the outbox, and its one message (kept by the broker while no worker runs, acked
    late) makes the first worker that takes it dispatch them; no beat runs here."""
    endpoint_for(receiver, events=["order.created"])
    api = web_shop()
    dispatcher_nudge_done()
    order = checkout(api, paid=False)  # announced by its email; nothing to plan
    assert queued_tasks(test_broker) == [(ORDER_PLACED_TASK, [order.pk])]
    cache.delete(NUDGE_PENDING_KEY)

    start_celery("worker", test_broker, **WORKER_ENV)

    [request] = receiver.wait_for(1)
    assert request.json["type"] == "order.created"
    assert request.json["data"]["order"]["token"] == str(order.token)


def test_a_failing_email_is_retried_on_its_own_and_never_plans_again(test_broker, start_celery):
    failing_mail = {**WORKER_ENV, "EMAIL_BACKEND": "tests.fulfillment.failing_mail.Backend"}
    worker = start_celery("worker", test_broker, **failing_mail)

    order = place_paid_order()

    def task_log(task: str, what: str) -> list[str]:
        return re.findall(rf"{re.escape(task)}\[[0-9a-f-]+\] {what}", worker.output())

    wait_until(lambda: len(task_log(task_names.NOTIFY_CUSTOMER, "retry: ")) >= 2)
    assert len(task_log(ORDER_PLACED_TASK, "received")) == 1
    assert len(task_log(ORDER_PLACED_TASK, "succeeded")) == 1
    assert Fulfillment.objects.filter(order=order).count() == 1
    email = Notification.objects.get(order=order, kind="placed")
    assert email.sent_at is None


def test_a_confirmed_order_is_planned_and_announced_by_a_real_worker(
    receiver, test_broker, start_celery
):
    endpoint = endpoint_for(receiver, events=ANNOUNCED)
    start_celery("worker", test_broker, **WORKER_ENV)

    order = place_paid_order()

    fulfillment = wait_until(lambda: Fulfillment.objects.filter(order=order).first())
    assert fulfillment.warehouse.code == "main"
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
