"""What on-demand delivery costs a checkout, in SQL statements (docs/performance.md), and
that a checkout without it pays nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from delivery.setup import slots_create
from tests.delivery.conftest import ADDRESS, NEAR, PAYMENT
from tests.orders.test_query_counts import CHECKOUT_BUDGET

pytestmark = pytest.mark.django_db(transaction=True)


def statements(shop, key: str, **body) -> list[str]:
    payload = {
        "lines": [{"sku": "TEE", "quantity": 1}],
        "email": "q@example.com",
        "shipping_address": {**ADDRESS, **NEAR},
        "payment": PAYMENT,
        **body,
    }
    with CaptureQueriesContext(connection) as queries:
        answer = shop.api.post("/api/v1/store/checkout", payload, HTTP_IDEMPOTENCY_KEY=key)
    assert answer.status_code == 201, answer.json()
    return [query["sql"] for query in queries.captured_queries]


# Issue 16: the checkout targets of issue 13 (at most 12 statements) still hold with zones
# and slots checked.
ON_DEMAND_BUDGET = 12


def test_delivery_adds_one_statement_to_a_checkout_with_or_without_a_slot(shop):
    shop.courier()
    # The key (stamped), both shipping methods and the channel's zones into this process's
    # caches.
    statements(shop, "warm", shipping_method="standard")
    statements(shop, "warm-express", shipping_method="express")
    starts = timezone.now() + timedelta(hours=3)
    slot = slots_create(
        zone=shop.zone, starts_at=starts, ends_at=starts + timedelta(hours=1), slot_minutes=60,
        capacity=10,
    )[0]  # fmt: skip

    plain = statements(shop, "plain", shipping_method="standard")
    asap = statements(shop, "asap", shipping_method="express")
    scheduled = statements(shop, "slot", shipping_method="express", delivery_slot=str(slot.pk))

    assert len(plain) <= CHECKOUT_BUDGET
    assert len(asap) <= ON_DEMAND_BUDGET and len(scheduled) <= ON_DEMAND_BUDGET
    # The zones come from the process's cache; the courier queue is the one statement more.
    # The delivery row and its estimate go in the same insert as the order's own rows.
    # The courier queue is one statement more; giving the checkout's allocation (taken
    # once paid, before the order's transaction) to the order is another: without a
    # delivery it rides in the order's rows' statement, whose `counted` part the slot's
    # booking takes here.
    assert len(asap) - len(plain) == 2
    assert [sql for sql in asap if '"delivery_' in sql and "COUNT(*)" not in sql] == [
        sql for sql in asap if 'INSERT INTO "delivery_delivery"' in sql
    ]
    timeline = [sql for sql in asap if 'INSERT INTO "orders_orderevent"' in sql]
    assert len(timeline) == 1 and "delivery_estimate" in timeline[0]
    assert 'INSERT INTO "delivery_delivery"' in timeline[0]
    # With a slot: its read instead of the queue; its booking (a conditional update) runs in
    # that same statement; the stock was allocated before the order's transaction (its
    # statements autocommitted, before the BEGIN), which only relabels the allocation.
    assert len(scheduled) - len(plain) == 2
    (written,) = [sql for sql in scheduled if 'UPDATE "delivery_deliveryslot"' in sql]
    assert 'INSERT INTO "delivery_delivery"' in written and 'INSERT INTO "orders_order' in written
    stock = [i for i, sql in enumerate(scheduled) if 'UPDATE "inventory_stocklevel"' in sql]
    assert stock and stock[-1] < scheduled.index("BEGIN") < scheduled.index(written)
    assert not [sql for sql in plain if '"delivery_' in sql]  # no delivery table read
    slot.refresh_from_db()
    assert slot.booked == 1


def test_a_zone_changed_is_seen_by_the_next_checkout(shop):
    """The zones are cached per process, and every change to them is seen at once."""
    shop.courier()
    statements(shop, "warm", shipping_method="express")
    shop.zone.minimum_order = "500.00"
    shop.zone.save()

    answer = shop.api.post(
        "/api/v1/store/checkout",
        {
            "lines": [{"sku": "TEE", "quantity": 1}],
            "email": "q@example.com",
            "shipping_address": {**ADDRESS, **NEAR},
            "shipping_method": "express",
            "payment": PAYMENT,
        },
        HTTP_IDEMPOTENCY_KEY="after",
    )
    assert answer.status_code == 422, answer.json()
    assert answer.json()["code"] == "below_delivery_minimum"
