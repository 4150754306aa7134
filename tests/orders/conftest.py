"""Fixtures for checkout tests: a `web` channel with a warehouse, stock, methods, keys."""

from __future__ import annotations

import pytest

from catalog.models import Channel
from orders.services.setup import shipping_method_create
from tests.conftest import Api
from tests.factories import make_key, make_product, make_warehouse, receive


@pytest.fixture
def shop(db, web: Channel):
    """`web` sells TEE (19.99, 10 in stock) and MUG (8.50, 100 in stock)."""
    warehouse = make_warehouse("main", channels=[web])
    tee = make_product(slug="tee", skus={"TEE": "19.99"}, channels=[web]).variants.get()
    mug = make_product(slug="mug", skus={"MUG": "8.50"}, channels=[web]).variants.get()
    receive(tee, warehouse, 10)
    receive(mug, warehouse, 100)
    shipping_method_create(
        channel=web, code="standard", name="Standard", price="4.99", free_over="50.00"
    )
    return {"channel": web, "warehouse": warehouse, "tee": tee, "mug": mug}


@pytest.fixture
def web_api(shop) -> Api:
    return Api(make_key(shop["channel"])[1])
