"""Real parallel HTTP requests against a live server on PostgreSQL: no oversell, exactly once."""

from __future__ import annotations

from collections import Counter

import pytest

from catalog.models import Channel
from inventory.models import Allocation, StockLevel, StockMovement
from orders.models import Order, Voucher
from orders.services.setup import voucher_create
from tests.factories import SHIPPING_ADDRESS, make_key, make_product, make_warehouse, receive
from tests.parallel import http_json, run_parallel

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def hot_sku(db):
    """One SKU with 20 units, sold by four channels from one warehouse."""
    channels = [
        Channel.objects.create(code=code, name=code, kind=kind)
        for code, kind in (
            ("web", "web"),
            ("instagram", "instagram"),
            ("chatbot", "chatbot"),
            ("pos", "pos"),
        )
    ]
    warehouse = make_warehouse("main", channels=channels)
    variant = make_product(slug="hot", skus={"HOT": "25.00"}, channels=channels).variants.get()
    receive(variant, warehouse, 20)
    keys = [make_key(channel)[1] for channel in channels]
    return {"variant": variant, "keys": keys}


def test_100_concurrent_checkouts_for_20_units_sell_exactly_20(live_server, hot_sku):
    url = f"{live_server.url}/api/v1/store/checkout"
    keys = hot_sku["keys"]

    results = run_parallel(
        100,
        lambda i: http_json(
            "POST",
            url,
            keys[i % 4],
            {"lines": [{"sku": "HOT", "quantity": 1}], "shipping_address": SHIPPING_ADDRESS},
        ),
    )

    statuses = Counter(status for status, _, _ in results)
    assert statuses == {201: 20, 409: 80}, results[:3]
    codes = Counter(body["code"] for status, body, _ in results if status == 409)
    assert codes == {"insufficient_stock": 80}
    assert Order.objects.count() == 20
    level = StockLevel.objects.get(variant=hot_sku["variant"])
    assert (level.on_hand, level.allocated) == (20, 20)
    assert sum(a.quantity for a in Allocation.objects.all()) == 20
    assert sum(m.delta for m in StockMovement.objects.filter(stock_level=level)) == level.on_hand
    assert len({body["token"] for status, body, _ in results if status == 201}) == 20


def test_same_idempotency_key_ten_times_at_once_makes_one_order(live_server, hot_sku):
    url = f"{live_server.url}/api/v1/store/checkout"
    key = hot_sku["keys"][0]
    body = {"lines": [{"sku": "HOT", "quantity": 2}], "shipping_address": SHIPPING_ADDRESS}

    results = run_parallel(
        10, lambda i: http_json("POST", url, key, body, {"Idempotency-Key": "tap-buy-once"})
    )

    assert Order.objects.count() == 1
    created = [r for r in results if r[0] == 201 and "Idempotent-Replayed" not in r[2]]
    replayed = [r for r in results if r[0] == 201 and r[2].get("Idempotent-Replayed") == "true"]
    in_use = [r for r in results if r[0] == 409]
    assert len(created) == 1
    assert len(created) + len(replayed) + len(in_use) == 10
    assert all(r[1]["code"] == "idempotency_key_in_use" for r in in_use)
    assert all(r[1]["id"] == created[0][1]["id"] for r in replayed)
    assert StockLevel.objects.get(variant=hot_sku["variant"]).allocated == 2
    # A retry after the storm replays the one order.
    status, again, headers = http_json("POST", url, key, body, {"Idempotency-Key": "tap-buy-once"})
    assert (status, again["id"], headers["Idempotent-Replayed"]) == (
        201,
        created[0][1]["id"],
        "true",
    )


def test_voucher_with_5_uses_left_is_used_exactly_5_times_under_30_checkouts(live_server, hot_sku):
    variant = hot_sku["variant"]
    receive(variant, variant.stock.get().warehouse, 100)
    voucher_create(code="LAST5", kind="percentage", value="10", usage_limit=5)
    url = f"{live_server.url}/api/v1/store/checkout"
    keys = hot_sku["keys"]

    results = run_parallel(
        30,
        lambda i: http_json(
            "POST",
            url,
            keys[i % 4],
            {
                "lines": [{"sku": "HOT", "quantity": 1}],
                "voucher_code": "LAST5",
                "shipping_address": SHIPPING_ADDRESS,
            },
        ),
    )

    statuses = Counter(status for status, _, _ in results)
    assert statuses[201] == 5
    refused = [body for status, body, _ in results if status != 201]
    assert {(body["status"], body["code"]) for body in refused} <= {
        (409, "voucher_unavailable"),
        (400, "invalid"),
    }
    assert Voucher.objects.get().used_count == 5
    assert Order.objects.filter(voucher_code="LAST5").count() == 5
    assert StockLevel.objects.get(variant=variant).allocated == 5


def test_concurrent_cart_completes_make_one_order(live_server, hot_sku):
    key = hot_sku["keys"][0]
    status, cart, _ = http_json(
        "POST",
        f"{live_server.url}/api/v1/store/carts",
        key,
        {"lines": [{"sku": "HOT", "quantity": 3}]},
    )
    assert status == 201
    cart_url = f"{live_server.url}/api/v1/store/carts/{cart['id']}"
    assert http_json("PATCH", cart_url, key, {"shipping_address": SHIPPING_ADDRESS})[0] == 200
    url = f"{cart_url}/complete"

    results = run_parallel(8, lambda i: http_json("POST", url, key, {}))

    assert sorted(status for status, _, _ in results) == [200] * 7 + [201]
    assert len({body["id"] for _, body, _ in results}) == 1
    assert Order.objects.count() == 1
    assert StockLevel.objects.get(variant=hot_sku["variant"]).allocated == 3
