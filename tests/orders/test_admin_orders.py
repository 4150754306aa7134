"""Admin order listing: filters, channel limits, query counts."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from channels_api.models import ApiKey
from orders.models import Order
from tests.conftest import Api
from tests.factories import SHIPPING_ADDRESS, make_key

pytestmark = pytest.mark.django_db

ORDERS = "/api/v1/admin/orders"


def place(web_api, **extra) -> dict:
    response = web_api.post(
        "/api/v1/store/checkout",
        {"lines": [{"sku": "MUG", "quantity": 1}], "shipping_address": SHIPPING_ADDRESS, **extra},
    )
    assert response.status_code == 201, response.json()
    return response.json()


def test_list_filters(web_api, admin_api, shop):
    paid = place(web_api, email="paid@example.com", payment={"provider": "manual"})
    unpaid = place(web_api, email="unpaid@example.com")

    def ids(query: str) -> list[str]:
        response = admin_api.get(f"{ORDERS}?{query}")
        assert response.status_code == 200, response.json()
        return [o["id"] for o in response.json()["results"]]

    assert ids("") == [unpaid["id"], paid["id"]]
    assert ids("payment_status=paid") == [paid["id"]]
    assert ids("status=pending") == [unpaid["id"]]
    assert ids("status=pending&status=confirmed") == [unpaid["id"], paid["id"]]
    assert ids("channel=web") == [unpaid["id"], paid["id"]]
    assert ids("channel=other") == []
    assert ids(f"search={paid['number']}") == [paid["id"]]
    assert ids("search=UNPAID@example.com") == [unpaid["id"]]
    assert ids("created_after=2000-01-01T00:00:00Z&created_before=2100-01-01T00:00:00Z") == [
        unpaid["id"],
        paid["id"],
    ]
    assert ids("created_after=2100-01-01T00:00:00Z") == []
    bad = admin_api.get(f"{ORDERS}?status=shipped")
    assert bad.status_code == 400 and bad.json()["code"] == "invalid"


def test_channel_limited_key_sees_only_its_channels_orders(web_api, shop, instagram):
    order = place(web_api)
    limited = Api(make_key(instagram, kind=ApiKey.Kind.SECRET)[1])
    assert limited.get(ORDERS).json()["results"] == []
    assert limited.get(f"{ORDERS}/{order['id']}").status_code == 404
    assert limited.post(f"{ORDERS}/{order['id']}/cancel", {}).status_code == 404
    assert Order.objects.get().status == "pending"


@pytest.mark.parametrize("count", [5, 50])
def test_listing_orders_costs_the_same_queries_for_5_or_50(web_api, admin_api, shop, count):
    for _ in range(count):
        place(web_api)
    admin_api.get(f"{ORDERS}?limit=1")  # the key's first use: loaded and stamped
    with CaptureQueriesContext(connection) as queries:
        response = admin_api.get(f"{ORDERS}?limit=100")
    assert len(response.json()["results"]) == count
    # the versions (the key comes from this process's cache), orders, lines
    assert len(queries) == 3, [q["sql"] for q in queries]


def checkout_queries(api, skus: list[str], key: str) -> int:
    payload = {
        "lines": [{"sku": sku, "quantity": 1} for sku in skus],
        "email": "q@example.com",
        "shipping_address": SHIPPING_ADDRESS,
        "shipping_method": "standard",
        "payment": {"provider": "test", "token": "tok_approve"},
    }
    with CaptureQueriesContext(connection) as queries:
        response = api.post("/api/v1/store/checkout", payload, HTTP_IDEMPOTENCY_KEY=key)
    assert response.status_code == 201, response.json()
    return len(queries)


@pytest.mark.django_db(transaction=True)  # as in production: the request owns the transaction
def test_one_shot_checkout_costs_the_same_queries_for_1_or_10_lines(shop, web):
    from tests.factories import make_product, make_warehouse, receive

    warehouse = make_warehouse(channels=[web])
    skus = []
    for number in range(10):
        variant = make_product(skus={f"Q{number}": "1.00"}, channels=[web]).variants.get()
        receive(variant, warehouse, 50)
        skus.append(variant.sku)
    api = Api(make_key(web)[1])
    # The key (stamped) and the shipping method into this process's caches: no run pays.
    checkout_queries(api, skus[:1], "warm")

    one_line = checkout_queries(api, skus[:1], "one")
    ten_lines = checkout_queries(api, skus, "ten")

    assert one_line == ten_lines
    assert one_line <= 10  # the budget in docs/performance.md (with a payment)
