"""Checkout sells what the channel lists, at the channel's price, in the channel's currency.

The variants of a checkout are read by one hand-written statement
(`catalog.selectors.variants_for_sale_by_sku`); these pin its rules through the API.
"""

from __future__ import annotations

import pytest

from orders.models import Order
from tests.channels_api.test_auth_and_errors import assert_problem
from tests.conftest import Api
from tests.factories import (
    SHIPPING_ADDRESS,
    make_channel,
    make_key,
    make_product,
    make_warehouse,
    receive,
)

pytestmark = pytest.mark.django_db

CHECKOUT = "/api/v1/store/checkout"


def selling(channel, skus: dict[str, str], prices: dict | None = None, published: bool = True):
    product = make_product(
        slug=f"p-{channel.code}-{len(skus)}",
        skus=skus,
        channels=[channel],
        prices=prices,
        published=published,
        name="Scarf",
    )
    warehouse = make_warehouse(channels=[channel])
    for variant in product.variants.all():
        receive(variant, warehouse, 5)
    return Api(make_key(channel)[1])


def buy(api: Api, sku: str, quantity: int = 2):
    return api.post(
        CHECKOUT,
        {"lines": [{"sku": sku, "quantity": quantity}], "shipping_address": SHIPPING_ADDRESS},
    )


def test_the_channel_price_overrides_the_base_price():
    shop = make_channel("shop")
    api = selling(shop, {"SCARF": "30.00"}, prices={"shop": {"SCARF": "24.50"}})

    body = buy(api, "SCARF").json()

    assert body["lines"][0]["unit_price"] == {"amount": "24.50", "currency": "USD"}
    assert body["subtotal"] == {"amount": "49.00", "currency": "USD"}
    assert body["lines"][0]["name"] == "Scarf"


def test_without_an_override_the_base_price_sells_in_the_default_currency():
    shop = make_channel("shop")
    api = selling(shop, {"SCARF": "30.00"})

    body = buy(api, "SCARF").json()

    assert body["lines"][0]["unit_price"] == {"amount": "30.00", "currency": "USD"}


def test_another_currency_sells_only_variants_priced_in_it():
    euro = make_channel("eu", currency="EUR")
    api = selling(
        euro, {"SCARF-RED": "30.00", "SCARF-BLUE": "30.00"}, prices={"eu": {"SCARF-RED": "27.00"}}
    )

    priced = buy(api, "SCARF-RED").json()
    body = assert_problem(buy(api, "SCARF-BLUE"), 400, "invalid")

    assert priced["lines"][0]["unit_price"] == {"amount": "27.00", "currency": "EUR"}
    assert body["errors"] == {"lines": ["SKU 'SCARF-BLUE' is not sold in this channel."]}
    assert Order.objects.count() == 1


def test_an_unpublished_listing_is_not_sold():
    shop = make_channel("shop")
    api = selling(shop, {"SCARF": "30.00"}, published=False)

    body = assert_problem(buy(api, "SCARF"), 400, "invalid")

    assert body["errors"] == {"lines": ["SKU 'SCARF' is not sold in this channel."]}
    assert not Order.objects.exists()


def test_every_unsold_sku_is_named_and_nothing_is_placed():
    shop = make_channel("shop")
    api = selling(shop, {"SCARF": "30.00"})
    lines = [{"sku": "SCARF", "quantity": 1}, {"sku": "NOPE", "quantity": 1}]

    body = assert_problem(api.post(CHECKOUT, {"lines": lines}), 400, "invalid")

    assert body["errors"] == {"lines": ["SKU 'NOPE' is not sold in this channel."]}
    assert not Order.objects.exists()
