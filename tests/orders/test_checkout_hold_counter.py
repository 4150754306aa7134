"""A paid checkout's hold through the API, on the stock row's counter (`reserved_units`):
taken in one statement, given back when the PSP refuses, turned into the allocation."""

from __future__ import annotations

import pytest

from inventory.models import Reservation, StockLevel
from inventory.selectors import stock_check
from tests.orders.test_checkout import ADDRESS, CHECKOUT

pytestmark = pytest.mark.django_db(transaction=True)


def checkout(api, token: str, quantity: int = 2):
    return api.post(
        CHECKOUT,
        {
            "lines": [{"sku": "TEE", "quantity": quantity}],
            "email": "a@example.com",
            "shipping_address": ADDRESS,
            "payment": {"provider": "test", "token": token},
        },
    )


def counted(shop) -> tuple[int, int]:
    level = StockLevel.objects.get(variant=shop["tee"])
    return level.allocated, level.reserved_units


def test_a_declined_card_gives_the_held_units_back_to_the_counter(web_api, shop):
    response = checkout(web_api, "tok_decline")

    assert response.status_code == 402, response.json()
    assert counted(shop) == (0, 0)
    assert not Reservation.objects.exists()
    assert stock_check() == []


def test_a_paid_checkout_turns_its_counted_hold_into_the_allocation(web_api, shop):
    response = checkout(web_api, "tok_approve")

    assert response.status_code == 201, response.json()
    assert counted(shop) == (2, 0)
    assert not Reservation.objects.exists()
    assert stock_check() == []


def test_an_authorized_card_keeps_its_units_allocated_not_reserved(web_api, shop):
    response = checkout(web_api, "tok_authorize", quantity=10)

    assert response.status_code == 201, response.json()
    assert counted(shop) == (10, 0)
    sold_out = checkout(web_api, "tok_approve", quantity=1)
    assert sold_out.status_code == 409, sold_out.json()
    assert sold_out.json()["lines"] == [{"sku": "TEE", "requested": 1, "available": 0}]
    assert stock_check() == []
