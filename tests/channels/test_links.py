"""Shop links: Instagram link → cart → order, counters, ring-fenced allotments, expiry, QR."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from catalog.models import ProductListing
from inventory.models import Reservation
from orders.models import Cart, Order, ShopLink, ShopLinkClick
from tests.channels.conftest import STOREFRONT
from tests.channels_api.test_auth_and_errors import assert_problem
from tests.conftest import Api
from tests.factories import SHIPPING_ADDRESS, receive

pytestmark = pytest.mark.django_db

LINKS = "/api/v1/admin/links"
CAMPAIGN = {"post": "https://instagram.com/p/abc", "source": "instagram", "medium": "social"}


def create_link(keys, **extra) -> dict:
    body = {"channel": "instagram", "lines": [{"sku": "TEE", "quantity": 1}], **extra}
    response = keys["admin"].post(LINKS, body)
    assert response.status_code == 201, response.json()
    return response.json()


def in_hours(hours: float) -> str:
    return (timezone.now() + timedelta(hours=hours)).isoformat()


def available(api: Api, slug: str = "classic-tee") -> int:
    return api.get(f"/api/v1/store/products/{slug}").json()["variants"][0]["available"]


def checkout(api: Api, quantity: int, sku: str = "TEE"):
    return api.post(
        "/api/v1/store/checkout",
        {"lines": [{"sku": sku, "quantity": quantity}], "shipping_address": SHIPPING_ADDRESS},
    )


def complete(api: Api, cart_id: str, payment: dict | None = None):
    """The storefront asks for the address, then completes the link's cart."""
    address = {"shipping_address": SHIPPING_ADDRESS}
    assert api.patch(f"/api/v1/store/carts/{cart_id}", address).status_code == 200
    return api.post(f"/api/v1/store/carts/{cart_id}/complete", {"payment": payment})


def test_instagram_link_to_cart_to_order_attributes_and_counts(keys, anonymous_api):
    # Given staff create a link for a post
    link = create_link(keys, campaign=CAMPAIGN, name="Summer post")
    assert len(link["code"]) >= 22
    assert link["url"] == f"http://testserver/l/{link['code']}"
    assert (link["clicks"], link["carts"], link["orders"]) == (0, 0, 0)

    # When a shopper taps it, they land on a ready cart in the storefront
    tap = anonymous_api.get(f"/l/{link['code']}")
    assert tap.status_code == 302
    cart_id = tap["Location"].removeprefix(STOREFRONT.removesuffix("{cart_id}"))
    cart = Cart.objects.get(pk=cart_id)
    assert cart.attribution == {"link": link["code"], "campaign": CAMPAIGN}
    assert "@" not in tap["Location"] and link["code"] not in tap["Location"]

    # And the storefront shows the link's products and completes the cart
    shown = keys["instagram"].get(f"/api/v1/store/links/{link['code']}").json()
    assert shown["lines"][0] | {"product": None} == {
        "sku": "TEE",
        "name": "Classic Tee",
        "quantity": 1,
        "price": {"amount": "19.99", "currency": "USD"},
        "available": 9,
        "product": None,
    }
    assert shown["status"] == "active" and shown["sold_out"] is False
    completed = complete(keys["instagram"], cart_id, {"provider": "test", "token": "tok_approve"})
    assert completed.status_code == 201, completed.json()

    # And a second cart made through the API is counted too
    second = keys["instagram"].post(f"/api/v1/store/links/{link['code']}/cart")
    assert second.status_code == 201
    assert second.json()["lines"][0]["sku"] == "TEE"

    # Then the order carries the attribution and the link counts one click, two carts, one order
    order = Order.objects.get(pk=int(completed.json()["id"]))
    assert order.attribution == {"link": link["code"], "campaign": CAMPAIGN}
    stats = keys["admin"].get(f"{LINKS}/{link['code']}").json()
    assert (stats["clicks"], stats["carts"], stats["orders"]) == (1, 2, 1)
    assert stats["conversion"] == "1.0000"
    assert ShopLinkClick.objects.filter(link__code=link["code"]).count() == 1


def test_a_link_to_a_product_no_longer_published_shows_no_price_and_sells_nothing(keys, catalog):
    # Given a link to TEE, whose product staff then stop publishing on Instagram
    link = create_link(keys)
    ProductListing.objects.filter(product=catalog["tee"].product, channel__code="instagram").update(
        published=False
    )

    # When the storefront shows the link
    shown = keys["instagram"].get(f"/api/v1/store/links/{link['code']}").json()

    # Then the line has no price and nothing to sell, as checkout refuses it too
    assert (shown["lines"][0]["price"], shown["lines"][0]["available"]) == (None, 0)
    assert (shown["status"], shown["sold_out"]) == ("sold_out", True)
    assert_problem(checkout(keys["instagram"], 1), 400, "invalid")
    cart = keys["instagram"].post(f"/api/v1/store/links/{link['code']}/cart")
    assert_problem(cart, 400, "invalid")
    assert Cart.objects.count() == 0


def test_ring_fenced_units_are_sold_only_through_the_link(keys, catalog):
    # Given 5 of the 10 TEE are ring-fenced for a link
    link = create_link(
        keys, lines=[{"sku": "TEE", "quantity": 1, "allotment": 5}], allotment_until=in_hours(48)
    )
    assert link["ring_fenced"] is True and link["lines"][0]["available"] == 5
    assert available(keys["web"]) == 5

    # When another channel wants more than the unfenced units, it is refused
    refused = checkout(keys["web"], 6)
    body = assert_problem(refused, 409, "insufficient_stock")
    assert body["lines"] == [{"sku": "TEE", "requested": 6, "available": 5}]
    assert checkout(keys["web"], 5).status_code == 201
    only_fenced_left = checkout(keys["web"], 1)
    assert_problem(only_fenced_left, 409, "insufficient_stock")
    assert Order.objects.filter(channel__code="web").count() == 1

    # Then the link's carts still take the fenced units, one by one
    for _ in range(5):
        made = keys["instagram"].post(f"/api/v1/store/links/{link['code']}/cart")
        assert made.status_code == 201, made.json()
    assert Reservation.objects.filter(holder=f"link:{link['code']}").count() == 0
    sold_out = keys["instagram"].post(f"/api/v1/store/links/{link['code']}/cart")
    body = assert_problem(sold_out, 409, "insufficient_stock")
    assert body["lines"] == [{"sku": "TEE", "requested": 1, "available": 0}]
    assert Cart.objects.filter(channel__code="instagram").count() == 5

    # And the link is sold out even when other stock arrives for everybody else
    receive(catalog["tee"], catalog["main"], 3)
    shown = keys["instagram"].get(f"/api/v1/store/links/{link['code']}").json()
    assert (shown["status"], shown["sold_out"], shown["lines"][0]["available"]) == (
        "sold_out", True, 0,
    )  # fmt: skip
    assert available(keys["web"]) == 3


def test_link_carts_complete_from_the_fence_when_nothing_else_is_left(keys):
    link = create_link(
        keys, lines=[{"sku": "TEE", "quantity": 2, "allotment": 4}], allotment_until=in_hours(1)
    )
    assert checkout(keys["web"], 6).status_code == 201
    cart = keys["instagram"].post(f"/api/v1/store/links/{link['code']}/cart").json()

    order = complete(keys["instagram"], cart["id"])

    assert order.status_code == 201, order.json()
    assert order.json()["lines"][0]["quantity"] == 2
    assert (
        keys["instagram"].get(f"/api/v1/store/links/{link['code']}").json()["lines"][0]["available"]
        == 2
    )


def test_an_expired_allotment_returns_its_units_to_general_stock(keys):
    # Given 5 units are fenced
    link = create_link(
        keys, lines=[{"sku": "TEE", "quantity": 1, "allotment": 5}], allotment_until=in_hours(2)
    )
    assert available(keys["web"]) == 5

    # When the allotment ends
    past = timezone.now() - timedelta(seconds=1)
    ShopLink.objects.filter(code=link["code"]).update(allotment_until=past)
    Reservation.objects.filter(holder=f"link:{link['code']}").update(expires_at=past)

    # Then every channel can sell them, and the link sells from general stock
    assert available(keys["web"]) == 10
    shown = keys["instagram"].get(f"/api/v1/store/links/{link['code']}").json()
    assert (shown["ring_fenced"], shown["sold_out"], shown["lines"][0]["available"]) == (
        False, False, 10,
    )  # fmt: skip
    assert checkout(keys["web"], 10).status_code == 201


def test_a_link_whose_allotment_is_not_in_stock_is_not_created(keys):
    response = keys["admin"].post(
        LINKS,
        {
            "channel": "instagram",
            "lines": [{"sku": "TEE", "quantity": 1, "allotment": 11}],
            "allotment_until": in_hours(1),
        },
    )
    assert_problem(response, 409, "insufficient_stock")
    assert not ShopLink.objects.exists()
    assert not Reservation.objects.exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"lines": [{"sku": "NOPE"}]}, "lines"),
        ({"lines": [{"sku": "TEE", "allotment": 3}]}, "allotment_until"),
        (
            {
                "lines": [{"sku": "TEE", "quantity": 2, "allotment": 1}],
                "expires_at": "2099-01-01T00:00:00Z",
            },
            "lines.0.allotment",
        ),
        ({"lines": [{"sku": "TEE"}], "expires_at": "2001-01-01T00:00:00Z"}, "expires_at"),
        ({"lines": [{"sku": "TEE"}], "campaign": {"email": "a@b.co"}}, "campaign.email"),
    ],
)
def test_invalid_links_are_refused_and_nothing_is_held(keys, body, field):
    response = keys["admin"].post(LINKS, {"channel": "instagram", **body})
    problem = assert_problem(response, 400, "invalid")
    assert field in problem["errors"]
    assert not ShopLink.objects.exists()
    assert not Reservation.objects.exists()


def test_expired_and_inactive_links_answer_410(keys, anonymous_api):
    expired = create_link(keys, expires_at=in_hours(1))
    ShopLink.objects.filter(code=expired["code"]).update(expires_at=timezone.now())
    fenced = create_link(
        keys, lines=[{"sku": "TEE", "quantity": 1, "allotment": 3}], allotment_until=in_hours(1)
    )
    deactivated = keys["admin"].post(f"{LINKS}/{fenced['code']}/deactivate")
    assert deactivated.status_code == 200 and deactivated.json()["active"] is False
    assert available(keys["web"]) == 10  # the fence was released

    for code, problem in ((expired["code"], "link_expired"), (fenced["code"], "link_inactive")):
        assert_problem(keys["instagram"].get(f"/api/v1/store/links/{code}"), 410, problem)
        assert_problem(keys["instagram"].post(f"/api/v1/store/links/{code}/cart"), 410, problem)
        assert_problem(anonymous_api.get(f"/l/{code}"), 410, problem)
    assert not Cart.objects.exists()
    assert ShopLink.objects.get(code=expired["code"]).clicks == 0


def test_unknown_links_and_other_channels_links_are_404(keys, anonymous_api):
    link = create_link(keys)
    assert_problem(keys["web"].get(f"/api/v1/store/links/{link['code']}"), 404, "not_found")
    assert_problem(keys["instagram"].get("/api/v1/store/links/nope"), 404, "not_found")
    assert_problem(anonymous_api.get("/l/nope"), 404, "not_found")
    assert not Cart.objects.exists()


def test_a_links_usage_limit_caps_its_orders(keys):
    link = create_link(keys, usage_limit=1)
    first = keys["instagram"].post(f"/api/v1/store/links/{link['code']}/cart").json()
    second = keys["instagram"].post(f"/api/v1/store/links/{link['code']}/cart").json()
    assert complete(keys["instagram"], first["id"]).status_code == 201

    late = complete(keys["instagram"], second["id"])

    assert_problem(late, 410, "link_used_up")
    assert Order.objects.count() == 1
    assert Cart.objects.get(pk=second["id"]).status == "open"
    assert_problem(
        keys["instagram"].post(f"/api/v1/store/links/{link['code']}/cart"), 410, "link_used_up"
    )


def test_staff_list_links_and_download_a_qr_code(keys):
    link = create_link(keys, campaign={"post": "p1"})

    listed = keys["admin"].get(LINKS).json()
    qr = keys["admin"].get(f"{LINKS}/{link['code']}/qr")

    assert [item["code"] for item in listed["results"]] == [link["code"]]
    assert qr.status_code == 200
    assert qr["Content-Type"] == "image/svg+xml"
    assert b"<svg" in qr.content and b"</svg>" in qr.content
    assert_problem(keys["instagram"].get(LINKS), 403, "permission_denied")
