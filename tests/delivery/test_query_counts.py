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


def test_delivery_adds_three_statements_to_a_checkout_and_four_with_a_slot(shop):
    shop.courier()
    # The key (stamped) and both shipping methods into this process's caches.
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
    # The zones serving the channel, the courier queue, the delivery row; its estimate goes
    # on the timeline in the same insert as the order's own rows.
    assert len(asap) - len(plain) == 3
    timeline = [sql for sql in asap if 'INSERT INTO "orders_orderevent"' in sql]
    assert len(timeline) == 1 and "delivery_estimate" in timeline[0]
    # The slot read and its booking (a conditional update), instead of the queue.
    assert len(scheduled) - len(plain) == 4
    assert not [sql for sql in plain if '"delivery_' in sql]  # no delivery table read
