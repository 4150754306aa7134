"""Faults on real services: the database restarts, a web worker is killed, the broker stops.

Clients retry with their Idempotency-Key, as the contract asks; every one must end
with exactly one order, and stock, allocations and the ledger must still agree.
"""

from __future__ import annotations

import os
import signal
import threading
import time
import uuid
from collections import Counter

import pytest
from django.db import connections

from catalog.models import Channel
from inventory.models import Allocation, Reservation, StockLevel
from inventory.selectors import stock_check
from orders.models import Cart, Order, OrderLine
from tests.factories import SHIPPING_ADDRESS, make_key, make_product, make_warehouse, receive
from tests.parallel import http_json

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def shop(db):
    channel = Channel.objects.create(code="web", name="Web", kind="web")
    warehouse = make_warehouse("main", channels=[channel])
    variants = []
    for number in range(3):
        variant = make_product(
            slug=f"p{number}", skus={f"SKU{number}": "10.00"}, channels=[channel]
        ).variants.get()
        receive(variant, warehouse, 2000)
        variants.append(variant)
    return {"channel": channel, "key": make_key(channel)[1], "variants": variants}


def post_with_retries(
    url: str, key: str, body: dict, deadline: float, method: str = "POST"
) -> tuple[int, dict, int]:
    """What a careful client does: one Idempotency-Key, retried until a final answer.

    Returns the final status and body, and how many attempts failed on the way.
    """
    idempotency_key = str(uuid.uuid4())
    failed = 0
    while time.monotonic() < deadline:
        try:
            status, answer, _ = http_json(
                method,
                url,
                key,
                body,
                {"Idempotency-Key": idempotency_key},
            )
        except OSError:  # connection refused or reset while the server or database restarts
            failed += 1
            time.sleep(0.3)
            continue
        if status >= 500 or (status == 409 and answer.get("code") == "idempotency_key_in_use"):
            failed += 1
            time.sleep(0.3)
            continue
        return status, answer, failed
    raise AssertionError("no final answer before the deadline")


def checkout_with_retries(url: str, key: str, body: dict, deadline: float, cart: bool = False):
    """One-shot checkout, or (a web store) a cart that holds stock, gets its address and is
    then completed."""
    if not cart:
        body = {**body, "shipping_address": SHIPPING_ADDRESS}
        return post_with_retries(f"{url}/api/v1/store/checkout", key, body, deadline)
    status, created, failed = post_with_retries(f"{url}/api/v1/store/carts", key, body, deadline)
    assert status == 201, created
    cart_url = f"{url}/api/v1/store/carts/{created['id']}"
    address = {"shipping_address": SHIPPING_ADDRESS}
    status, _, patched = post_with_retries(cart_url, key, address, deadline, method="PATCH")
    assert status == 200
    status, order, more = post_with_retries(f"{cart_url}/complete", key, {}, deadline)
    return status, order, failed + patched + more


def assert_books_balance() -> None:
    connections.close_all()
    assert stock_check() == []
    for order in Order.objects.prefetch_related("lines"):
        allocated = sum(a.quantity for a in Allocation.objects.filter(holder=order.holder))
        assert allocated == sum(line.quantity for line in order.lines.all()), order.pk
    assert not Order.objects.filter(lines__isnull=True).exists()
    for level in StockLevel.objects.all():
        assert level.allocated == sum(a.quantity for a in level.allocations.all())


class Clients:
    """Shoppers that keep checking out (each with its own Idempotency-Key) until stopped."""

    def __init__(self, server_url: str, key: str, skus: list[str], count: int = 8) -> None:
        self.results: list[tuple[int, dict, int]] = []
        self.stop = threading.Event()
        self._lock = threading.Lock()
        deadline = time.monotonic() + 90

        def client(index: int) -> None:
            round_ = 0
            while not self.stop.is_set():
                sku = skus[(index + round_) % len(skus)]
                outcome = checkout_with_retries(
                    server_url,
                    key,
                    {"lines": [{"sku": sku, "quantity": 1}]},
                    deadline,
                    cart=index % 2 == 1,
                )
                with self._lock:
                    self.results.append(outcome)
                round_ += 1

        self.threads = [threading.Thread(target=client, args=(n,)) for n in range(count)]
        for thread in self.threads:
            thread.start()

    def wait_for(self, count: int, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while len(self.results) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(self.results) >= count, "the clients made no progress"

    def finish(self) -> list[tuple[int, dict, int]]:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=120)
        return self.results


@pytest.mark.serial(reason="restarts the PostgreSQL cluster every worker's database lives in")
def test_database_restart_during_checkouts_leaves_exactly_one_order_per_client(
    app_server, restart_postgres, shop
):
    server = app_server(workers=2)
    clients = Clients(server.url, shop["key"], [v.sku for v in shop["variants"]])
    clients.wait_for(20)
    restart_postgres()
    clients.wait_for(len(clients.results) + 20)  # and they carry on afterwards
    results = clients.finish()

    assert Counter(status for status, _, _ in results) == {201: len(results)}
    assert sum(failed for _, _, failed in results) > 0  # the restart did hit requests
    connections.close_all()
    assert Order.objects.count() == len(results)
    assert len({answer["id"] for _, answer, _ in results}) == len(results)
    assert OrderLine.objects.count() == len(results)
    assert_books_balance()
    # Every cart became an order and gave its holds up: no orphan reservation is left.
    assert not Cart.objects.filter(status="open").exists()
    assert not Reservation.objects.exists()


def test_killing_a_web_worker_mid_request_leaves_no_half_written_order(app_server, shop):
    server = app_server(workers=2)
    clients = Clients(server.url, shop["key"], [v.sku for v in shop["variants"]])
    for _ in range(3):
        clients.wait_for(len(clients.results) + 10)
        os.kill(server.worker_pids()[0], signal.SIGKILL)
    clients.wait_for(len(clients.results) + 20)
    results = clients.finish()

    assert Counter(status for status, _, _ in results) == {201: len(results)}
    assert sum(failed for _, _, failed in results) > 0  # the kills did cut requests
    connections.close_all()
    assert Order.objects.count() == len(results)
    assert_books_balance()


def test_with_the_broker_down_the_api_keeps_taking_orders(app_server, shop):
    dead_broker = "redis://127.0.0.1:9/0"  # nothing listens on the discard port
    server = app_server(workers=1, CELERY_BROKER_URL=dead_broker, CACHE_URL="")
    key, started = shop["key"], time.monotonic()
    answers = [
        http_json(
            "POST",
            f"{server.url}/api/v1/store/checkout",
            key,
            {
                "lines": [{"sku": "SKU0", "quantity": 1}],
                "email": "a@example.com",
                "shipping_address": SHIPPING_ADDRESS,
                "payment": {"provider": "test", "token": "tok_approve"},
            },
        )
        for _ in range(5)
    ]
    assert [status for status, _, _ in answers] == [201] * 5
    assert time.monotonic() - started < 30  # a dead broker costs a short timeout, not a hang
    connections.close_all()
    assert Order.objects.filter(status="confirmed").count() == 5
    assert_books_balance()
