"""A database restart with the production connection settings: once it is back, no 5xx.

Each web worker keeps its database session for `DATABASE_CONN_MAX_AGE` seconds (600 by
default). After a restart every kept session is dead; the health check before a
request's first query (`CONN_HEALTH_CHECKS`) finds it and opens a new one, so the first
request a worker serves after the restart is answered like any other.
"""

from __future__ import annotations

import threading
import uuid

import pytest
from django.db import connection, connections

from catalog.models import Channel
from orders.models import Order
from tests.factories import SHIPPING_ADDRESS, make_key, make_product, make_warehouse, receive
from tests.parallel import http_json

pytestmark = pytest.mark.django_db(transaction=True)

WORKERS = 2


@pytest.fixture
def shop(db):
    channel = Channel.objects.create(code="web", name="Web", kind="web")
    warehouse = make_warehouse("main", channels=[channel])
    variant = make_product(slug="p", skus={"SKU": "10.00"}, channels=[channel]).variants.get()
    receive(variant, warehouse, 500)
    return {"key": make_key(channel)[1], "sku": variant.sku}


def app_sessions() -> int:
    """Sessions of the test database other than this process's own: the web workers'."""
    connections.close_all()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return cursor.fetchone()[0]


def requests_in_parallel(url: str, key: str, sku: str, clients: int = 8, each: int = 4):
    """Checkouts and product list reads from `clients` threads; every (status, code) seen."""
    answers: list[tuple[int, str]] = []
    lock = threading.Lock()

    def client() -> None:
        for number in range(each):
            try:
                if number % 2:
                    status, body, _ = http_json("GET", f"{url}/api/v1/store/products", key)
                else:
                    status, body, _ = http_json(
                        "POST",
                        f"{url}/api/v1/store/checkout",
                        key,
                        {
                            "lines": [{"sku": sku, "quantity": 1}],
                            "email": "a@example.com",
                            "shipping_address": SHIPPING_ADDRESS,
                            "payment": {"provider": "test", "token": "tok_approve"},
                        },
                        {"Idempotency-Key": str(uuid.uuid4())},
                    )
                code = body.get("code", "") if isinstance(body, dict) else ""
            except OSError as error:  # a reset or refused connection: as bad as a 5xx
                status, code = 599, type(error).__name__
            with lock:
                answers.append((status, code))

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return answers


@pytest.mark.serial(reason="restarts the PostgreSQL cluster every worker's database lives in")
def test_once_a_restarted_database_is_back_every_request_succeeds(
    app_server, restart_postgres, shop
):
    # The production default connection age (600 s), not the other fault tests' 60 s.
    server = app_server(workers=WORKERS, DATABASE_CONN_MAX_AGE="600")
    before = requests_in_parallel(server.url, shop["key"], shop["sku"])
    assert {status for status, _ in before} <= {200, 201}, before
    assert app_sessions() == WORKERS  # each worker kept its session open

    restart_postgres()  # waits until the database accepts connections again

    assert app_sessions() == 0  # the kept sessions died with the old server
    after = requests_in_parallel(server.url, shop["key"], shop["sku"])
    assert [answer for answer in after if answer[0] not in (200, 201)] == []
    assert app_sessions() == WORKERS  # each worker served requests and reopened its session
    assert Order.objects.count() == sum(1 for status, _ in before + after if status == 201)
