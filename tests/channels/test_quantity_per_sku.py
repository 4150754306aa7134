"""CART_MAX_QUANTITY is a limit per SKU, however many lines name it, in every channel:
checkout, carts, shop links and their carts, till sales live and in bulk."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.test import override_settings
from django.utils import timezone

from inventory.models import Reservation
from orders.models import Cart, CartLine, Order, ShopLink
from pos.models import PosSale
from tests.channels_api.test_auth_and_errors import assert_problem

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("two_a_sku")]

ADDRESS = {"name": "Ada", "line1": "1 Main St", "city": "Town", "postal_code": "1", "country": "US"}
CASH = {"provider": "manual", "method": "cash"}
TWICE_TWO_TEES = [{"sku": "TEE", "quantity": 2}, {"sku": "TEE", "quantity": 2}]
OVER = {"lines": ["At most 2 units of TEE (all its lines)."]}


@pytest.fixture
def two_a_sku():
    with override_settings(CART_MAX_QUANTITY=2):
        yield


def refused(response) -> None:
    assert assert_problem(response, 400, "invalid")["errors"] == OVER


def test_a_checkout_naming_a_sku_twice_is_held_to_the_limit_of_the_sum(keys):
    refused(
        keys["web"].post(
            "/api/v1/store/checkout", {"lines": TWICE_TWO_TEES, "shipping_address": ADDRESS}
        )
    )
    assert not Order.objects.exists()

    within = [{"sku": "TEE", "quantity": 1}, {"sku": "TEE", "quantity": 1}]
    placed = keys["web"].post(
        "/api/v1/store/checkout", {"lines": within, "shipping_address": ADDRESS}
    )
    assert [(line["sku"], line["quantity"]) for line in placed.json()["lines"]] == [("TEE", 2)]


def test_a_cart_naming_a_sku_twice_is_held_to_the_limit_of_the_sum(keys):
    refused(keys["web"].post("/api/v1/store/carts", {"lines": TWICE_TWO_TEES}))
    assert not Cart.objects.exists() and not Reservation.objects.exists()


def test_adding_to_a_line_is_held_to_the_limit_of_the_sum(keys):
    cart = keys["web"].post("/api/v1/store/carts", {"lines": [{"sku": "TEE", "quantity": 2}]})

    refused(
        keys["web"].post(
            f"/api/v1/store/carts/{cart.json()['id']}/lines", {"sku": "TEE", "quantity": 1}
        )
    )
    assert CartLine.objects.get().quantity == 2


def test_a_shop_link_and_its_cart_are_held_to_the_limit(keys):
    over = {"channel": "instagram", "lines": [{"sku": "TEE", "quantity": 3}]}
    twice = {"channel": "instagram", "lines": TWICE_TWO_TEES}
    assert_problem(keys["admin"].post("/api/v1/admin/links", over), 400, "invalid")
    assert_problem(keys["admin"].post("/api/v1/admin/links", twice), 400, "invalid")
    assert not ShopLink.objects.exists()

    link = (
        keys["admin"]
        .post(
            "/api/v1/admin/links",
            {"channel": "instagram", "lines": [{"sku": "TEE", "quantity": 2}]},
        )
        .json()
    )
    cart = keys["instagram"].post(f"/api/v1/store/links/{link['code']}/cart").json()
    refused(
        keys["instagram"].post(
            f"/api/v1/store/carts/{cart['id']}/lines", {"sku": "TEE", "quantity": 1}
        )
    )
    assert CartLine.objects.get().quantity == 2


def test_a_till_sale_naming_a_sku_twice_is_held_to_the_limit_of_the_sum(keys):
    refused(keys["pos"].post("/api/v1/store/pos/sales", {"lines": TWICE_TWO_TEES, "payment": CASH}))
    assert not Order.objects.exists()


def test_an_offline_sale_naming_a_sku_twice_is_flagged_not_sold(keys):
    sale = {"client_id": str(uuid.uuid4()), "lines": TWICE_TWO_TEES, "payment": CASH}

    response = keys["pos"].post("/api/v1/store/pos/sales/bulk", {"sales": [sale]})

    [result] = response.json()["results"]
    assert (result["status"], result["order"]) == ("flagged", None)
    assert result["reason"] == (
        "invalid: The request has invalid fields. lines: At most 2 units of TEE (all its lines)."
    )
    assert not Order.objects.exists()
    assert PosSale.objects.get().status == PosSale.Status.FLAGGED


def test_a_link_cart_is_held_to_the_limit_in_force_when_it_is_made(keys):
    # Given a link ring-fencing tees, two a cart, made while the limit was 2
    until = (timezone.now() + timedelta(hours=1)).isoformat()
    link = (
        keys["admin"]
        .post(
            "/api/v1/admin/links",
            {
                "channel": "instagram",
                "lines": [{"sku": "TEE", "quantity": 2, "allotment": 4}],
                "allotment_until": until,
            },
        )
        .json()
    )
    fenced = Reservation.objects.get().quantity

    # When the limit is lowered to 1 and a shopper taps the link
    with override_settings(CART_MAX_QUANTITY=1):
        response = keys["instagram"].post(f"/api/v1/store/links/{link['code']}/cart")

    # Then no cart, and the allotment is untouched
    assert assert_problem(response, 400, "invalid")["errors"] == {
        "lines": ["At most 1 unit of TEE (all its lines)."]
    }
    assert not Cart.objects.exists()
    assert Reservation.objects.get().quantity == fenced == 4
