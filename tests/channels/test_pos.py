"""Point of sale: a till sale fulfilled at once, and offline sales uploaded twice."""

from __future__ import annotations

import uuid

import pytest

from inventory.models import StockLevel
from orders.models import Order
from pos.models import PosSale
from tests.channels_api.test_auth_and_errors import assert_problem

pytestmark = pytest.mark.django_db

SALES = "/api/v1/store/pos/sales"
BULK = "/api/v1/store/pos/sales/bulk"
CASH = {"provider": "manual", "method": "cash"}


def on_hand(catalog, warehouse: str, sku: str) -> int:
    return StockLevel.objects.get(
        warehouse=catalog[warehouse], variant=catalog[sku.lower()]
    ).on_hand


def test_a_till_sale_is_paid_fulfilled_and_completed_from_the_store(keys, catalog):
    # When the till sells 2 tees for cash
    response = keys["pos"].post(
        SALES,
        {"lines": [{"sku": "TEE", "quantity": 2}], "payment": CASH, "store": "soho"},
    )

    # Then the order is paid, fulfilled and completed, and the receipt says so
    assert response.status_code == 201, response.json()
    body = response.json()
    order = body["order"]
    assert (order["status"], order["payment_status"], order["fulfillment_status"]) == (
        "completed", "paid", "fulfilled",
    )  # fmt: skip
    receipt = body["receipt"]
    assert receipt["number"] == order["number"]
    assert receipt["store"] == {
        "code": "soho",
        "name": "Soho store",
        "address": {"line1": "1 Greek St", "city": "London", "postal_code": "W1D 4DJ"},
    }
    assert [(line["sku"], line["quantity"]) for line in receipt["lines"]] == [("TEE", 2)]
    assert receipt["total"] == receipt["paid"] == {"amount": "39.98", "currency": "USD"}
    assert receipt["tax"] == {"amount": "0.00", "currency": "USD"}
    assert receipt["method"] == "cash"
    assert receipt["issued_at"] == order["created_at"]
    # And the units left the store, not the warehouse
    assert on_hand(catalog, "soho", "TEE") == 3
    assert on_hand(catalog, "main", "TEE") == 10


def test_a_till_sale_sent_twice_with_its_client_id_is_sold_once(keys, catalog):
    body = {"lines": [{"sku": "MUG", "quantity": 1}], "payment": CASH, "client_id": "till-1-0001"}

    first = keys["pos"].post(SALES, body)
    again = keys["pos"].post(SALES, body)

    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["order"]["id"] == first.json()["order"]["id"]
    assert again.json()["replayed"] is True
    assert Order.objects.count() == 1
    assert on_hand(catalog, "soho", "MUG") == 2


def test_a_till_sale_without_stock_in_the_store_changes_nothing(keys, catalog):
    response = keys["pos"].post(
        SALES,
        {"lines": [{"sku": "MUG", "quantity": 4}], "payment": {**CASH, "method": "card_terminal"}},
    )

    problem = assert_problem(response, 409, "insufficient_stock")
    assert problem["lines"] == [{"sku": "MUG", "requested": 4, "available": 3}]
    assert not Order.objects.exists()
    assert on_hand(catalog, "soho", "MUG") == 3


@pytest.mark.parametrize(
    ("payment", "field"),
    [
        ({"provider": "test", "token": "tok_approve"}, "payment.provider"),
        ({"provider": "manual", "method": "cheque"}, "payment.method"),
    ],
)
def test_a_till_sale_is_paid_by_cash_or_card_terminal_only(keys, payment, field):
    response = keys["pos"].post(
        SALES, {"lines": [{"sku": "TEE", "quantity": 1}], "payment": payment}
    )

    assert field in assert_problem(response, 400, "invalid")["errors"]
    assert not Order.objects.exists()


def test_only_point_of_sale_channels_ring_up_sales(keys):
    response = keys["web"].post(SALES, {"lines": [{"sku": "TEE", "quantity": 1}], "payment": CASH})
    assert_problem(response, 403, "permission_denied")
    assert not Order.objects.exists()


def test_an_offline_upload_sent_twice_sells_each_sale_once_and_flags_the_short_one(keys, catalog):
    # Given three sales from a till that was offline; the mugs sold out meanwhile
    ids = [str(uuid.uuid4()) for _ in range(3)]
    sales = {
        "sales": [
            {"client_id": ids[0], "lines": [{"sku": "TEE", "quantity": 2}], "payment": CASH,
             "sold_at": "2024-05-01T10:15:00Z"},
            {"client_id": ids[1], "lines": [{"sku": "MUG", "quantity": 5}], "payment": CASH},
            {"client_id": ids[2], "lines": [{"sku": "MUG", "quantity": 1}],
             "payment": {**CASH, "method": "card_terminal"}},
        ]
    }  # fmt: skip

    # When the upload is sent twice
    first = keys["pos"].post(BULK, sales)
    second = keys["pos"].post(BULK, sales)

    # Then each sale happened once, and the one without stock is flagged, not dropped
    assert first.status_code == second.status_code == 200
    results = first.json()["results"]
    assert [(r["client_id"], r["status"], r["replayed"]) for r in results] == [
        (ids[0], "recorded", False),
        (ids[1], "flagged", False),
        (ids[2], "recorded", False),
    ]
    assert results[1]["order"] is None
    assert results[1]["reason"] == (
        "insufficient_stock: Not enough stock for MUG. MUG: 5 sold, 3 available"
    )
    assert results[0]["receipt"]["issued_at"] == "2024-05-01T10:15:00Z"
    replayed = second.json()["results"]
    assert [(r["status"], r["replayed"]) for r in replayed] == [
        ("recorded", True), ("flagged", True), ("recorded", True),
    ]  # fmt: skip
    assert [r["order"] for r in replayed] == [r["order"] for r in results]
    assert Order.objects.count() == 2
    assert PosSale.objects.count() == 3
    assert (on_hand(catalog, "soho", "TEE"), on_hand(catalog, "soho", "MUG")) == (3, 2)

    # And staff see the flagged sale
    flagged = keys["admin"].get("/api/v1/admin/pos/sales?status=flagged").json()["results"]
    assert [(sale["client_id"], sale["channel"], sale["order"]) for sale in flagged] == [
        (ids[1], "pos", None)
    ]
    assert flagged[0]["sale"]["lines"] == [{"sku": "MUG", "quantity": 5}]


def test_an_upload_over_500_sales_is_refused(keys):
    sale = {"lines": [{"sku": "TEE", "quantity": 1}], "payment": CASH}
    body = {"sales": [{**sale, "client_id": str(index)} for index in range(501)]}

    assert "sales" in assert_problem(keys["pos"].post(BULK, body), 400, "invalid")["errors"]
    assert not PosSale.objects.exists()


def test_a_live_sale_that_an_upload_flagged_before_is_refused_and_rings_up_nothing(keys, catalog):
    # Given an offline upload that flagged a sale (the store had 3 mugs, it sold 5)
    sale = {"client_id": "till-1-0042", "lines": [{"sku": "MUG", "quantity": 5}], "payment": CASH}
    assert keys["pos"].post(BULK, {"sales": [sale]}).json()["results"][0]["status"] == "flagged"

    # When the till then sends the same sale live
    response = keys["pos"].post(SALES, sale)

    # Then it hears what became of it, and nothing is sold
    problem = assert_problem(response, 409, "pos_sale_not_recorded")
    assert (problem["client_id"], problem["sale_status"]) == ("till-1-0042", "flagged")
    assert problem["reason"].startswith("insufficient_stock: ")
    assert not Order.objects.exists()
    assert PosSale.objects.count() == 1
    assert on_hand(catalog, "soho", "MUG") == 3
