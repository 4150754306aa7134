"""Zones at checkout: who is served, for how much, from what order value, and when."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from delivery.models import Delivery
from delivery.setup import zone_create, zone_update
from inventory.models import Allocation, StockLevel
from orders.models import Order, OrderEvent
from tests.delivery.conftest import ADDRESS, FAR, NEAR, delivery_of, order_of
from tests.factories import make_warehouse, receive


def nothing_placed() -> tuple:
    return (Order.objects.count(), Delivery.objects.count(), Allocation.objects.count())


def test_checkout_inside_the_zone_charges_its_fee_and_promises_an_arrival_window(shop):
    shop.courier()  # idle, at hand: no queue to wait for
    placed = timezone.now()
    answer = shop.checkout(quantity=1)  # 20.00: above the 15.00 minimum, below 60.00

    assert answer["shipping"] == {"amount": "3.90", "currency": "USD"}
    assert answer["total"] == {"amount": "23.90", "currency": "USD"}
    assert answer["shipping_method"] == "Delivery in 30 minutes"
    delivery = answer["delivery"]
    assert delivery["status"] == "queued"
    assert delivery["zone"] == "Berlin Mitte"
    assert len(delivery["pin"]) == 4 and delivery["pin"].isdigit()
    assert delivery["stream"] == f"/api/v1/store/orders/{answer['token']}/stream"
    window = delivery["estimated_arrival"]
    # Ready in 10 minutes (the courier is there in 5), 1.1 km at 15 km/h, 2 minutes' handover:
    # 16.5 minutes, give or take 5.
    arrival = placed + timedelta(minutes=16.45)
    assert abs(parse(window["earliest"]) - (arrival - timedelta(minutes=5))) < timedelta(seconds=5)
    assert abs(parse(window["latest"]) - (arrival + timedelta(minutes=5))) < timedelta(seconds=5)
    assert [e["type"] for e in answer["timeline"]][-1] == "delivery_estimate"
    recorded = OrderEvent.objects.get(order_id=int(answer["id"]), type="delivery_estimate")
    assert recorded.data == {
        "earliest": window["earliest"],
        "latest": window["latest"],
        "reason": "placed",
    }
    assert delivery_of(answer).distance_meters == pytest.approx(1112, abs=5)


def test_the_fee_is_waived_over_the_zones_threshold(shop):
    answer = shop.checkout(quantity=3)  # 60.00

    assert answer["shipping"]["amount"] == "0.00"


def test_an_address_outside_every_zone_is_refused_and_nothing_is_placed(shop):
    before = nothing_placed()

    problem = shop.checkout(address={**ADDRESS, **FAR}, expect=422)

    assert problem["code"] == "outside_delivery_area"
    assert nothing_placed() == before


def test_an_address_without_coordinates_is_told_to_send_them(shop):
    problem = shop.checkout(address=ADDRESS, expect=422)

    assert problem["code"] == "outside_delivery_area"
    assert "latitude and longitude" in problem["detail"]


def test_an_order_below_the_zones_minimum_is_refused(shop):
    before = nothing_placed()
    stock = list(StockLevel.objects.values_list("on_hand", "allocated"))

    problem = shop.api.post(
        "/api/v1/store/checkout",
        {
            "lines": [{"sku": "TEE", "quantity": 1}],
            "shipping_address": {**ADDRESS, **NEAR},
            "shipping_method": "express",
            "voucher_code": None,
        },
    )
    zone_update(zone=shop.zone, fields={"minimum_order": "25.00"})
    problem = shop.checkout(quantity=1, expect=422)

    assert problem["code"] == "below_delivery_minimum"
    assert problem["minimum"] == {"amount": "25.00", "currency": "USD"}
    assert nothing_placed()[0] == before[0] + 1  # only the order placed before the change
    assert StockLevel.objects.get().allocated == stock[0][1] + 1


def test_a_closed_store_refuses_and_says_when_it_opens(shop):
    now = timezone.now().astimezone(timezone.get_fixed_timezone(60))
    closed_day = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"][now.weekday()]
    tomorrow = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"][(now.weekday() + 1) % 7]
    zone_update(
        zone=shop.zone,
        fields={"timezone": "Etc/GMT-1", "opening_hours": {tomorrow: [["09:00", "21:00"]]}},
    )
    assert closed_day != tomorrow
    before = nothing_placed()

    problem = shop.checkout(expect=409)

    assert problem["code"] == "delivery_closed"
    opens = parse(problem["opens_at"]).astimezone(timezone.get_fixed_timezone(60))
    assert (opens.date() - now.date()).days == 1 and (opens.hour, opens.minute) == (9, 0)
    assert nothing_placed() == before


def test_a_postal_code_zone_serves_addresses_without_coordinates(shop, web):
    other = make_warehouse("store-2", channels=[web], kind="store")
    receive(shop.zone.warehouse.stock.get().variant, other, 5)
    zone_create(
        code="prenzlberg",
        warehouse=other,
        fields={
            "name": "Prenzlauer Berg",
            "kind": "postal_codes",
            "postal_codes": ["10 119"],
            "country": "DE",
            "currency": "USD",
            "fee": "2.50",
        },
    )

    answer = shop.checkout(address=ADDRESS, quantity=1)

    assert answer["shipping"]["amount"] == "2.50"
    delivery = delivery_of(answer)
    assert delivery.zone.code == "prenzlberg"
    # Its stock comes from the zone's store, the courier's pickup.
    allocation = Allocation.objects.get(holder=order_of(answer).holder)
    assert allocation.stock_level.warehouse == other


def test_the_store_api_lists_the_options_for_an_address(shop):
    query = "/api/v1/store/delivery-options?latitude=52.53&longitude=13.405&subtotal=20.00"

    options = shop.api.get(query).json()["results"]

    assert len(options) == 1
    option = options[0]
    assert option["shipping_method"] == "express"
    assert option["zone"] == {"code": "mitte", "name": "Berlin Mitte"}
    assert option["fee"] == {"amount": "3.90", "currency": "USD"}
    assert option["minimum_order"] == {"amount": "15.00", "currency": "USD"}
    assert option["below_minimum"] is False
    assert option["open_now"] is True and option["asap"]["earliest"] < option["asap"]["latest"]
    far = shop.api.get("/api/v1/store/delivery-options?latitude=52.62&longitude=13.405")
    assert far.json() == {"results": []}
    bad = shop.api.get("/api/v1/store/delivery-options?latitude=95&longitude=13.4&radius=1")
    assert bad.status_code == 400
    assert set(bad.json()["errors"]) == {"radius"}


def test_a_cart_outside_the_zone_is_refused_when_the_address_is_set(shop):
    cart = shop.api.post("/api/v1/store/carts", {"lines": [{"sku": "TEE", "quantity": 1}]}).json()
    path = f"/api/v1/store/carts/{cart['id']}"

    refused = shop.api.patch(
        path, {"shipping_method": "express", "shipping_address": {**ADDRESS, **FAR}}
    )

    assert refused.status_code == 422
    assert refused.json()["code"] == "outside_delivery_area"
    after = shop.api.get(path).json()
    assert after["shipping_address"] is None and after["shipping_method"] is None


def test_a_cart_shows_its_delivery_and_completes_into_a_delivery(shop):
    cart = shop.api.post("/api/v1/store/carts", {"lines": [{"sku": "TEE", "quantity": 1}]}).json()
    path = f"/api/v1/store/carts/{cart['id']}"
    zone_update(zone=shop.zone, fields={"minimum_order": "30.00"})
    below = shop.api.patch(
        path, {"shipping_method": "express", "shipping_address": {**ADDRESS, **NEAR}}
    ).json()
    assert below["delivery"]["problem"]["code"] == "below_delivery_minimum"

    added = shop.api.post(f"{path}/lines", {"sku": "TEE", "quantity": 1}).json()

    assert added["delivery"]["problem"] is None
    assert added["delivery"]["fee"] == {"amount": "3.90", "currency": "USD"}
    assert added["shipping"] == {"amount": "3.90", "currency": "USD"}
    order = shop.api.post(f"{path}/complete", {"payment": {"provider": "test",
                                                            "token": "tok_approve"}})  # fmt: skip
    assert order.status_code == 201, order.json()
    assert order.json()["delivery"]["status"] == "queued"
    assert order.json()["shipping"] == {"amount": "3.90", "currency": "USD"}


def test_an_order_without_delivery_has_none(shop):
    body = {
        "lines": [{"sku": "TEE", "quantity": 1}],
        "shipping_address": ADDRESS,
        "shipping_method": "standard",
    }
    answer = shop.api.post("/api/v1/store/checkout", body).json()

    assert answer["delivery"] is None
    assert shop.api.get(f"/api/v1/store/orders/{answer['token']}").json()["delivery"] is None


def parse(text: str):
    from datetime import datetime

    return datetime.fromisoformat(text.replace("Z", "+00:00"))
