"""The bench's flash sale, scaled down: same data loader, same checks, real parallel requests."""

from __future__ import annotations

import uuid
from collections import Counter

import pytest

from bench.report import flash_sale_checks
from bench.seed import FLASH_SKU, seed
from inventory.models import StockLevel
from inventory.selectors import stock_check
from orders.models import Order
from tests.parallel import http_json, run_parallel

pytestmark = pytest.mark.django_db(transaction=True)

UNITS = 20
ATTEMPTS = 80
BODY = {
    "lines": [{"sku": FLASH_SKU, "quantity": 1}],
    "email": "fan@example.com",
    "shipping_address": {
        "name": "Fan",
        "line1": "1 Queue Street",
        "city": "Springfield",
        "postal_code": "12345",
        "country": "US",
    },
    "shipping_method": "standard",
    "payment": {"provider": "test", "token": "tok_approve"},
}


def test_80_checkouts_from_four_channels_sell_exactly_the_20_units(live_server):
    # Given four channels selling one SKU with 20 units split over two warehouses
    seeded = seed(products=0, flash_stock=UNITS)
    keys = list(seeded.keys.values())
    url = f"{live_server.url}/api/v1/store/checkout"

    # When 80 one-shot checkouts arrive at once, the channels taking turns
    results = run_parallel(
        ATTEMPTS,
        lambda i: http_json(
            "POST", url, keys[i % len(keys)], BODY, {"Idempotency-Key": str(uuid.uuid4())}
        ),
    )

    # Then exactly 20 orders, 60 refusals for stock, nothing else
    answers = Counter(
        f"{status} {body.get('code', '') if status >= 400 else ''}".strip()
        for status, body, _ in results
    )
    assert answers == {"201": UNITS, "409 insufficient_stock": ATTEMPTS - UNITS}, results[:3]
    assert len({body["token"] for status, body, _ in results if status == 201}) == UNITS
    assert Order.objects.count() == UNITS
    levels = StockLevel.objects.filter(variant__sku=FLASH_SKU).order_by("id")
    assert [(level.on_hand, level.allocated) for level in levels] == [(12, 12), (8, 8)]
    assert stock_check() == []
    # and the bench's own verdict agrees
    errors = {k: v for k, v in answers.items() if k not in {"201", "409 insufficient_stock"}}
    result = {"operations": len(results), "answers": dict(answers), "errors": errors}
    checks = flash_sale_checks(sku=FLASH_SKU, stock=UNITS, attempts=ATTEMPTS, result=result)
    assert [check["check"] for check in checks if not check["ok"]] == []
