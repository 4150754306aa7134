"""Orders never ship to nowhere: goods to ship need a complete shipping address at checkout,
and a paid order that cannot be shipped is not planned or shipped until staff fix it."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User

from fulfillment.models import Fulfillment
from fulfillment.services import fulfillments_plan
from fulfillment.tasks import fulfillments_plan_sweep_task
from inventory.models import Reservation, StockLevel
from orders.models import Cart, Order, OrderEvent
from orders.services.setup import shipping_method_create, voucher_create
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
CARTS = "/api/v1/store/carts"
PAID = {"provider": "test", "token": "tok_approve"}
NEEDS_ADDRESS = {
    "shipping_address": ["The order is shipped to the customer: it needs a shipping address."]
}


def nothing_placed() -> None:
    assert not Order.objects.exists()
    assert StockLevel.objects.get(variant__sku="TEE").allocated == 0


def test_the_tours_cart_whose_address_was_refused_does_not_complete(web_api, shop):
    # Given a cart below the voucher's minimum, whose PATCH with address, method and
    # voucher was refused as a whole (the README's tour)
    voucher_create(code="WELCOME10", kind="percentage", value="10", min_subtotal="50")
    cart = web_api.post(CARTS, {"lines": [{"sku": "TEE", "quantity": 1}]}).json()
    path = f"{CARTS}/{cart['id']}"
    update = {
        "shipping_method": "standard",
        "voucher_code": "WELCOME10",
        "shipping_address": SHIPPING_ADDRESS,
    }
    assert_problem(web_api.patch(path, update), 400, "invalid")

    # When it is completed and paid
    response = web_api.post(f"{path}/complete", {"payment": PAID})

    # Then no order: the goods would have nowhere to go; the cart keeps its hold
    assert assert_problem(response, 400, "invalid")["errors"] == NEEDS_ADDRESS
    nothing_placed()
    assert Cart.objects.get().status == Cart.Status.OPEN
    assert Reservation.objects.get().quantity == 1

    # And once the address is given, it completes
    assert web_api.patch(path, {"shipping_address": SHIPPING_ADDRESS}).status_code == 200
    assert web_api.post(f"{path}/complete", {"payment": PAID}).status_code == 201


@pytest.mark.parametrize("method", [None, "standard"])
def test_a_checkout_of_goods_to_ship_without_an_address_is_refused(web_api, shop, method):
    response = web_api.post(
        CHECKOUT,
        {"lines": [{"sku": "TEE", "quantity": 1}], "shipping_method": method, "payment": PAID},
    )

    errors = assert_problem(response, 400, "invalid")["errors"]
    assert list(errors) == ["shipping_address"]
    if method:
        assert errors["shipping_address"] == [
            "The order is shipped (Standard): it needs a shipping address."
        ]
    nothing_placed()


def test_an_incomplete_address_is_refused_field_by_field(web_api, shop):
    address = {key: value for key, value in SHIPPING_ADDRESS.items() if key != "city"}

    response = web_api.post(
        CHECKOUT, {"lines": [{"sku": "TEE", "quantity": 1}], "shipping_address": address}
    )

    assert assert_problem(response, 400, "invalid")["errors"] == {
        "shipping_address.city": ["This field is required."]
    }
    nothing_placed()


def test_pickup_and_digital_delivery_need_no_address(web_api, shop, admin_api):
    make_warehouse("shop-floor", channels=[shop["channel"]], kind="store")
    shipping_method_create(
        channel=shop["channel"],
        code="collect",
        name="Collect",
        kind="pickup",
        pickup_warehouse="shop-floor",
    )
    digital = admin_api.post(
        "/api/v1/admin/shipping-methods",
        {"channel": "web", "code": "e-mail", "name": "By email", "kind": "digital"},
    )
    assert digital.status_code == 201, digital.json()
    assert digital.json()["kind"] == "digital"

    for method in ("collect", "e-mail"):
        response = web_api.post(
            CHECKOUT,
            {"lines": [{"sku": "MUG", "quantity": 1}], "shipping_method": method, "payment": PAID},
        )
        assert response.status_code == 201, response.json()
        assert response.json()["shipping_address"] is None


def test_an_address_without_a_shipping_method_is_enough(web_api, shop):
    """What a chatbot or a link checkout sends: the merchant ships by its own means."""
    response = web_api.post(
        CHECKOUT,
        {"lines": [{"sku": "TEE", "quantity": 1}], "shipping_address": SHIPPING_ADDRESS},
    )

    assert response.status_code == 201, response.json()
    assert response.json()["shipping"] == {"amount": "0.00", "currency": "USD"}


def test_a_till_sale_needs_no_address(db):
    pos = make_channel("till", kind="pos")
    store = make_warehouse("corner", channels=[pos], kind="store")
    variant = make_product(skus={"POS-1": "5.00"}, channels=[pos]).variants.get()
    receive(variant, store, 3)

    response = Api(make_key(pos)[1]).post(
        "/api/v1/store/pos/sales",
        {"lines": [{"sku": "POS-1", "quantity": 1}], "payment": {"provider": "manual"}},
    )

    assert response.status_code == 201, response.json()
    assert response.json()["order"]["status"] == "completed"


# --- A paid order that cannot be shipped (placed before the rule, or its address removed)


@pytest.fixture
def stranded(web_api, shop) -> Order:
    """A paid, confirmed order of goods to ship that has lost its shipping address."""
    response = web_api.post(
        CHECKOUT,
        {
            "lines": [{"sku": "TEE", "quantity": 2}],
            "shipping_address": SHIPPING_ADDRESS,
            "shipping_method": "standard",
            "payment": PAID,
        },
    )
    order = Order.objects.get(pk=int(response.json()["id"]))
    Order.objects.filter(pk=order.pk).update(shipping_address=None)
    return order


def planner_notes(order: Order) -> list[str]:
    return [
        event.data["note"]
        for event in order.events.filter(type=OrderEvent.Type.NOTE_ADDED)
        if event.data.get("reason") == "not_shippable"
    ]


def test_the_planner_and_its_sweep_skip_an_order_that_cannot_be_shipped(stranded):
    assert fulfillments_plan(order=stranded) == []
    assert fulfillments_plan_sweep_task() == 0

    assert not Fulfillment.objects.exists()
    stranded.refresh_from_db()
    assert (stranded.status, stranded.fulfillment_status) == ("confirmed", "unfulfilled")
    # The timeline says why, once, however often the planner comes by
    assert planner_notes(stranded) == [
        "Not planned for shipping. The order is shipped (Standard): it needs a shipping address."
    ]


def test_staff_cannot_plan_it_through_the_api_and_are_told_why(stranded, admin_api):
    response = admin_api.post(f"/api/v1/admin/orders/{stranded.pk}/fulfillments", {})

    body = assert_problem(response, 409, "order_not_shippable")
    assert body["errors"] == {
        "shipping_address": ["The order is shipped (Standard): it needs a shipping address."]
    }
    assert not Fulfillment.objects.exists()
    # It stays in the staff's list of confirmed orders to deal with
    listed = admin_api.get("/api/v1/admin/orders?status=confirmed").json()["results"]
    assert [order["id"] for order in listed] == [str(stranded.pk)]


def test_a_planned_shipment_of_an_order_that_lost_its_address_does_not_ship(
    web_api, shop, admin_api
):
    order = web_api.post(
        CHECKOUT,
        {"lines": [{"sku": "TEE", "quantity": 1}], "shipping_address": SHIPPING_ADDRESS},
    ).json()
    [fulfillment] = admin_api.post(f"/api/v1/admin/orders/{order['id']}/fulfillments").json()[
        "results"
    ]
    Order.objects.filter(pk=int(order["id"])).update(shipping_address={"name": "Ada"})

    response = admin_api.post(
        f"/api/v1/admin/fulfillments/{fulfillment['id']}/ship",
        {"carrier": "DHL", "tracking_number": "1"},
    )

    body = assert_problem(response, 409, "order_not_shippable")
    assert body["errors"] == {
        "shipping_address": [
            "The order is shipped to the customer: "
            "its shipping address has no line1, city, postal_code, country."
        ]
    }
    assert Fulfillment.objects.get().status == Fulfillment.Status.PENDING
    assert StockLevel.objects.get(variant__sku="TEE").on_hand == 10


@pytest.fixture
def staff_client(client):
    client.force_login(User.objects.create_superuser("boss", "boss@example.com", "pw-long-1234"))
    return client


def test_in_the_admin_staff_see_why_fix_the_address_and_then_plan(stranded, staff_client):
    page = f"/admin/orders/order/{stranded.pk}/change/"
    address = f"/admin/orders/order/{stranded.pk}/address/"
    plan = {"action": "plan_shipping", "_selected_action": [stranded.pk]}

    # They see why it is not planned, and planning it is refused with the reason
    shown = staff_client.get(page)
    assert "it needs a shipping address" in shown.content.decode()
    assert address in shown.content.decode()
    refused = staff_client.post("/admin/orders/order/", plan, follow=True)
    assert "it needs a shipping address" in refused.content.decode()
    assert not Fulfillment.objects.exists()

    # An incomplete address is not saved (the address is fields, checked as at checkout)
    assert staff_client.post(address, {"name": "Ada"}).status_code == 200  # the form, with errors
    stranded.refresh_from_db()
    assert stranded.shipping_address is None

    # A complete one is; then the order is planned
    assert staff_client.post(address, SHIPPING_ADDRESS).status_code == 302
    planned = staff_client.post("/admin/orders/order/", plan, follow=True)
    assert "Planned 1 fulfillment(s)." in planned.content.decode()
    assert Fulfillment.objects.get().order_id == stranded.pk
