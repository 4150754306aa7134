"""Carts through HTTP: reserving stock, changing lines, contact and delivery, completing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from inventory.models import Allocation, Reservation, StockLevel
from orders.models import Cart, Order
from orders.services.setup import voucher_create
from tests.channels_api.test_auth_and_errors import assert_problem
from tests.conftest import Api
from tests.factories import make_channel, make_key

pytestmark = pytest.mark.django_db

CARTS = "/api/v1/store/carts"
ADDRESS = {"name": "Ada", "line1": "1 St", "city": "Paris", "postal_code": "75001", "country": "FR"}


def held(variant) -> int:
    return sum(
        r.quantity
        for r in Reservation.objects.filter(
            stock_level__variant=variant, expires_at__gt=timezone.now()
        )
    )


def new_cart(api, **extra) -> dict:
    response = api.post(CARTS, {"lines": [{"sku": "TEE", "quantity": 2}], **extra})
    assert response.status_code == 201, response.json()
    return response.json()


def test_creating_a_cart_reserves_its_lines_for_the_channel_ttl(web_api, shop):
    before = timezone.now()
    cart = new_cart(web_api, email="ada@example.com")

    assert cart["status"] == "open"
    assert cart["channel"] == "web"
    assert [(line["sku"], line["quantity"]) for line in cart["lines"]] == [("TEE", 2)]
    assert cart["total"] == {"amount": "39.98", "currency": "USD"}
    assert held(shop["tee"]) == 2
    reserved_until = timezone.datetime.fromisoformat(cart["reserved_until"])
    assert timedelta(minutes=14) < reserved_until - before <= timedelta(minutes=15, seconds=5)
    stock = web_api.get("/api/v1/store/products/tee").json()["variants"][0]["available"]
    assert stock == 8


def test_a_cart_that_cannot_be_reserved_is_not_created(web_api, shop):
    response = web_api.post(CARTS, {"lines": [{"sku": "TEE", "quantity": 11}]})
    assert_problem(response, 409, "insufficient_stock")
    assert not Cart.objects.exists()
    assert not Reservation.objects.exists()


def test_lines_add_change_and_remove_follow_the_stock_hold(web_api, shop):
    cart = new_cart(web_api)
    url = f"{CARTS}/{cart['id']}"

    added = web_api.post(f"{url}/lines", {"sku": "TEE", "quantity": 3})
    assert added.status_code == 201
    assert [line["quantity"] for line in added.json()["lines"]] == [5]
    assert held(shop["tee"]) == 5

    mug = web_api.post(f"{url}/lines", {"sku": "MUG", "quantity": 1}).json()["lines"][1]
    line_id = added.json()["lines"][0]["id"]
    assert web_api.patch(f"{url}/lines/{line_id}", {"quantity": 1}).status_code == 200
    assert held(shop["tee"]) == 1

    too_many = web_api.patch(f"{url}/lines/{line_id}", {"quantity": 11})
    assert_problem(too_many, 409, "insufficient_stock")
    assert held(shop["tee"]) == 1  # the earlier hold survives a refused change

    assert web_api.delete(f"{url}/lines/{mug['id']}").status_code == 200
    assert held(shop["mug"]) == 0
    assert [line["sku"] for line in web_api.get(url).json()["lines"]] == ["TEE"]
    assert_problem(web_api.delete(f"{url}/lines/{mug['id']}"), 404, "not_found")


def test_contact_address_method_and_voucher_set_the_totals(web_api, shop):
    voucher_create(code="FIVE", kind="fixed", value="5.00")
    cart = new_cart(web_api)
    url = f"{CARTS}/{cart['id']}"

    body = web_api.patch(
        url,
        {
            "email": "ada@example.com",
            "phone": "+33 1 23 45 67 89",
            "shipping_address": ADDRESS,
            "shipping_method": "standard",
            "voucher_code": "five",
        },
    ).json()

    assert body["email"] == "ada@example.com"
    assert body["shipping_address"]["country"] == "FR"
    assert body["shipping_method"]["code"] == "standard"
    assert body["voucher_code"] == "FIVE"
    assert (
        body["subtotal"]["amount"],
        body["discount"]["amount"],
        body["shipping"]["amount"],
        body["total"]["amount"],
    ) == ("39.98", "5.00", "4.99", "39.97")
    removed = web_api.patch(url, {"voucher_code": None}).json()
    assert removed["discount"]["amount"] == "0.00"


@pytest.mark.parametrize(
    "change,field",
    [
        ({"shipping_method": "teleport"}, "shipping_method"),
        ({"voucher_code": "NOPE"}, "voucher_code"),
        ({"email": "not-an-email"}, "email"),
        ({"shipping_address": {"name": "x"}}, "shipping_address.line1"),
    ],
)
def test_bad_cart_changes_are_400_and_change_nothing(web_api, shop, change, field):
    cart = new_cart(web_api)
    url = f"{CARTS}/{cart['id']}"
    body = assert_problem(web_api.patch(url, change), 400, "invalid")
    assert field in body["errors"]
    assert web_api.get(url).json() == web_api.get(url).json() | {
        "email": "",
        "shipping_method": None,
        "voucher_code": None,
        "shipping_address": None,
    }


def test_cart_is_reachable_only_through_its_channel(web_api, shop, instagram):
    cart = new_cart(web_api)
    foreign = Api(make_key(instagram)[1])
    url = f"{CARTS}/{cart['id']}"
    assert_problem(foreign.get(url), 404, "not_found")
    assert_problem(foreign.patch(url, {"email": "x@example.com"}), 404, "not_found")
    assert_problem(foreign.post(f"{url}/complete", {}), 404, "not_found")
    assert_problem(foreign.post(f"{url}/lines", {"sku": "TEE", "quantity": 1}), 404, "not_found")
    assert_problem(web_api.get(f"{CARTS}/not-a-uuid"), 404, "not_found")
    assert Cart.objects.get().email == ""


def ready_cart(api, **extra) -> dict:
    """A new cart with its shipping address: ready to complete."""
    cart = new_cart(api, **extra)
    assert api.patch(f"{CARTS}/{cart['id']}", {"shipping_address": ADDRESS}).status_code == 200
    return cart


def test_complete_turns_reservations_into_allocations_once(web_api, shop):
    cart = ready_cart(web_api, email="ada@example.com")
    url = f"{CARTS}/{cart['id']}/complete"

    first = web_api.post(url, {"payment": {"provider": "test", "token": "tok_approve"}})
    again = web_api.post(url, {"payment": {"provider": "test", "token": "tok_approve"}})

    assert first.status_code == 201 and again.status_code == 200
    assert first.json()["id"] == again.json()["id"]
    assert first.json()["payment_status"] == "paid"
    assert Order.objects.count() == 1
    assert not Reservation.objects.exists()
    assert Allocation.objects.get().quantity == 2
    assert StockLevel.objects.get(variant=shop["tee"]).allocated == 2
    completed = web_api.get(f"{CARTS}/{cart['id']}").json()
    assert completed["status"] == "completed"
    assert completed["order"]["token"] == first.json()["token"]
    assert_problem(
        web_api.post(f"{CARTS}/{cart['id']}/lines", {"sku": "TEE", "quantity": 1}),
        409,
        "cart_completed",
    )


def test_a_cart_whose_hold_expired_completes_while_stock_lasts(web_api, shop):
    cart = ready_cart(web_api)
    Reservation.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    response = web_api.post(f"{CARTS}/{cart['id']}/complete", {})
    assert response.status_code == 201
    assert StockLevel.objects.get(variant=shop["tee"]).allocated == 2


def test_a_cart_whose_hold_expired_and_stock_sold_cannot_complete(web_api, shop):
    cart = ready_cart(web_api)
    Reservation.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    web_api.post(
        "/api/v1/store/checkout",
        {"lines": [{"sku": "TEE", "quantity": 9}], "shipping_address": ADDRESS},
    )
    response = web_api.post(f"{CARTS}/{cart['id']}/complete", {})
    body = assert_problem(response, 409, "insufficient_stock")
    assert body["lines"] == [{"sku": "TEE", "requested": 2, "available": 1}]
    assert Cart.objects.get().status == "open"
    assert Order.objects.count() == 1


def test_declined_cart_payment_keeps_the_cart_and_its_hold(web_api, shop):
    cart = ready_cart(web_api)
    response = web_api.post(
        f"{CARTS}/{cart['id']}/complete", {"payment": {"provider": "test", "token": "tok_decline"}}
    )
    assert_problem(response, 402, "payment_declined")
    assert not Order.objects.exists()
    assert held(shop["tee"]) == 2
    assert StockLevel.objects.get(variant=shop["tee"]).allocated == 0


def test_release_gives_the_stock_back_and_extend_keeps_it_longer(web_api, shop):
    cart = new_cart(web_api)
    url = f"{CARTS}/{cart['id']}"
    extended = web_api.post(f"{url}/extend", {"seconds": 10 * 3600}).json()
    until = timezone.datetime.fromisoformat(extended["reserved_until"])
    assert timedelta(minutes=59) < until - timezone.now() <= timedelta(hours=1)  # channel max

    released = web_api.post(f"{url}/release").json()
    assert released["reserved_until"] is None
    assert held(shop["tee"]) == 0
    assert_problem(web_api.post(f"{url}/extend", {"seconds": 60}), 400, "invalid")


def test_expired_holds_stop_counting_at_once(web_api, shop):
    new_cart(web_api, lines=[{"sku": "TEE", "quantity": 10}])
    assert web_api.get("/api/v1/store/products/tee").json()["variants"][0]["available"] == 0
    Reservation.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    assert web_api.get("/api/v1/store/products/tee").json()["variants"][0]["available"] == 10


def test_a_line_add_answers_the_cart_as_a_read_of_it_shows_it(web_api, shop):
    """The answer is rendered from what the service priced, and `reserved_until` from the
    holds read under the stock lock: both as the cart reads afterwards."""
    cart = new_cart(web_api, shipping_method="standard")
    earlier = timezone.now() + timedelta(minutes=3)
    Reservation.objects.filter(holder=f"cart:{cart['id']}").update(expires_at=earlier)

    added = web_api.post(
        f"{CARTS}/{cart['id']}/lines", {"sku": "MUG", "quantity": 3}, HTTP_IDEMPOTENCY_KEY="a1"
    )
    again = web_api.post(f"{CARTS}/{cart['id']}/lines", {"sku": "MUG", "quantity": 1})

    assert added.status_code == 201, added.json()
    read = web_api.get(f"{CARTS}/{cart['id']}").json()
    assert timezone.datetime.fromisoformat(added.json()["reserved_until"]) == earlier
    assert [(line["sku"], line["quantity"]) for line in added.json()["lines"]] == [
        ("TEE", 2),
        ("MUG", 3),
    ]
    assert again.json() == read
    assert read["lines"][1]["quantity"] == 4
    assert read["reserved_until"] == again.json()["reserved_until"]
    assert timezone.datetime.fromisoformat(read["reserved_until"]) == earlier
    assert held(shop["mug"]) == 4
    assert Reservation.objects.filter(holder=f"cart:{cart['id']}").count() == 2


def test_a_line_add_to_another_channels_cart_is_not_found(web_api, shop):
    cart = new_cart(web_api)
    other = Api(make_key(make_channel("other"))[1])

    response = other.post(f"{CARTS}/{cart['id']}/lines", {"sku": "MUG", "quantity": 1})

    assert_problem(response, 404, "not_found")
    assert held(shop["mug"]) == 0
