"""Amounts an order could not store are refused by name, when the lines are set."""

from __future__ import annotations

import pytest
from django.db import DataError

from catalog.models import ProductVariant
from inventory.models import Reservation
from orders.models import Cart, CartLine, Order
from orders.services.setup import shipping_method_create
from tests.channels_api.test_auth_and_errors import assert_problem
from tests.factories import make_product, receive

pytestmark = pytest.mark.django_db

CHECKOUT = "/api/v1/store/checkout"
CARTS = "/api/v1/store/carts"
ADDRESS = {"name": "Ada", "line1": "1 Main St", "city": "Town", "postal_code": "1", "country": "US"}
# Money columns hold up to 11 digits before the point.
TOO_LARGE = ["Too large: an order's amounts must stay below 100000000000 USD."]


@pytest.fixture
def gold(shop) -> ProductVariant:
    """GOLD at 99,999,999,990.00 (one fits an order, with a mug too), and an express rate."""
    variant = make_product(
        slug="gold", skus={"GOLD": "99999999990.00"}, channels=[shop["channel"]]
    ).variants.get()
    receive(variant, shop["warehouse"], 10)
    shipping_method_create(channel=shop["channel"], code="express", name="Express", price="20")
    return variant


def refused(response, field: str) -> list[str]:
    body = assert_problem(response, 400, "invalid")
    assert list(body["errors"]) == [field], body
    return body["errors"][field]


def test_a_checkout_whose_line_total_cannot_be_stored_names_the_lines(web_api, gold):
    response = web_api.post(
        CHECKOUT, {"lines": [{"sku": "GOLD", "quantity": 2}], "shipping_address": ADDRESS}
    )

    assert refused(response, "lines") == TOO_LARGE
    assert not Order.objects.exists()


def test_a_checkout_whose_total_with_shipping_cannot_be_stored_names_the_lines(web_api, gold):
    one = {"lines": [{"sku": "GOLD", "quantity": 1}], "shipping_address": ADDRESS}

    refused(web_api.post(CHECKOUT, {**one, "shipping_method": "express"}), "lines")
    assert not Order.objects.exists()
    assert web_api.post(CHECKOUT, one).status_code == 201  # without the express rate it fits


def test_a_cart_too_large_to_order_is_refused_when_created(web_api, gold):
    response = web_api.post(
        CARTS, {"lines": [{"sku": "GOLD", "quantity": 1}, {"sku": "MUG", "quantity": 2}]}
    )

    assert refused(response, "lines") == TOO_LARGE
    assert not Cart.objects.exists() and not Reservation.objects.exists()


def test_a_line_that_makes_the_cart_too_large_is_refused_when_added_or_changed(web_api, gold):
    cart = web_api.post(
        CARTS, {"lines": [{"sku": "GOLD", "quantity": 1}, {"sku": "MUG", "quantity": 1}]}
    ).json()
    path = f"{CARTS}/{cart['id']}"
    mug_line = next(line for line in cart["lines"] if line["sku"] == "MUG")

    refused(web_api.post(f"{path}/lines", {"sku": "MUG", "quantity": 1}), "lines")
    refused(web_api.patch(f"{path}/lines/{mug_line['id']}", {"quantity": 2}), "lines")
    refused(web_api.post(f"{path}/lines", {"sku": "GOLD", "quantity": 1}), "lines")

    # Nothing changed: the lines and their holds are as they were.
    lines = dict(CartLine.objects.values_list("variant__sku", "quantity"))
    held = dict(Reservation.objects.values_list("stock_level__variant__sku", "quantity"))
    assert lines == held == {"GOLD": 1, "MUG": 1}


def test_a_shipping_rate_that_makes_the_cart_too_large_names_the_shipping_method(web_api, gold):
    cart = web_api.post(CARTS, {"lines": [{"sku": "GOLD", "quantity": 1}]}).json()
    path = f"{CARTS}/{cart['id']}"

    refused(web_api.patch(path, {"shipping_method": "express"}), "shipping_method")

    assert Cart.objects.get().shipping_method is None
    assert web_api.patch(path, {"shipping_method": "standard"}).status_code == 200  # free: fits


def test_a_cart_whose_prices_rose_beyond_what_an_order_holds_is_refused_at_completion(
    web_api, gold
):
    lines = [{"sku": "GOLD", "quantity": 1}, {"sku": "MUG", "quantity": 1}]
    cart = web_api.post(CARTS, {"lines": lines, "email": "ada@example.com"}).json()
    path = f"{CARTS}/{cart['id']}"
    assert web_api.patch(path, {"shipping_address": ADDRESS}).status_code == 200
    # Given the merchant raised the price afterwards, with the cart still open
    ProductVariant.objects.filter(sku="GOLD").update(price="99999999999.00")

    refused(web_api.post(f"{path}/complete", {}), "lines")

    assert not Order.objects.exists()
    assert Cart.objects.get().status == Cart.Status.OPEN


@pytest.mark.parametrize(
    ("path", "body"),
    [
        (CARTS, {"lines": [{"sku": "MUG", "quantity": 1}]}),
        (CHECKOUT, {"lines": [{"sku": "MUG", "quantity": 1}], "shipping_address": ADDRESS}),
    ],
)
def test_an_email_longer_than_its_column_is_refused_by_name(web_api, shop, path, body):
    email = "a" * 64 + "@" + ".".join(["b" * 60] * 3) + ".example.com"  # valid, 258 characters

    refused(web_api.post(path, {**body, "email": email}), "email")
    assert not Order.objects.exists() and not Cart.objects.exists()


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/v1/admin/vouchers", {"code": "MANY", "kind": "fixed", "value": "1"}),
        ("/api/v1/admin/links", {"channel": "web", "lines": [{"sku": "MUG"}]}),
    ],
)
def test_a_usage_limit_beyond_what_its_column_holds_is_refused_by_name(admin_api, shop, path, body):
    refused(admin_api.post(path, {**body, "usage_limit": 2**40}), "usage_limit")


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/admin/warehouses/main%00",
        "/api/v1/admin/stock/main/MUG%00",
        "/api/v1/admin/stock/main%00/MUG",
    ],
)
def test_a_nul_in_a_path_finds_nothing(admin_api, shop, path):
    assert_problem(admin_api.get(path), 404, "not_found")


def test_a_nul_in_a_store_path_finds_nothing(web_api, shop):
    assert_problem(web_api.get("/api/v1/store/products/mug%00"), 404, "not_found")


def test_an_idempotency_key_with_a_nul_is_refused_by_name(web_api, shop):
    response = web_api.post(
        CARTS, {"lines": [{"sku": "MUG", "quantity": 1}]}, HTTP_IDEMPOTENCY_KEY="key\x00"
    )

    refused(response, "Idempotency-Key")
    assert not Cart.objects.exists()


@pytest.mark.database_refusal
def test_what_still_reaches_the_database_unchecked_is_a_400_that_names_something(
    web_api, shop, monkeypatch
):
    from orders import services

    def refuse(**kwargs):
        raise DataError("numeric field overflow")

    monkeypatch.setattr(services, "checkout_direct", refuse)

    response = web_api.post(CHECKOUT, {"lines": [{"sku": "MUG", "quantity": 1}]})

    assert refused(response, "non_field_errors") == [
        "A value is too long or too large to be stored."
    ]


def test_a_usage_limit_has_one_bound_the_columns_largest_stated_by_the_schema(admin_api, shop):
    import channels_api.fields
    from backoffice.fields import COUNT_MAX
    from orders.models import ShopLink, Voucher
    from orders.services import setup

    # One home: the kernel's, which the voucher service and the API both import.
    assert not hasattr(channels_api.fields, "COUNT_MAX")
    assert setup.COUNT_MAX is COUNT_MAX
    schema = admin_api.get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    bounds = [
        component["properties"]["usage_limit"]["maximum"]
        for component in schema.json()["components"]["schemas"].values()
        if "maximum" in component.get("properties", {}).get("usage_limit", {})
    ]  # the inputs': a voucher's (created, changed) and a link's
    assert len(bounds) >= 3 and set(bounds) == {COUNT_MAX}, bounds

    voucher = admin_api.post(
        "/api/v1/admin/vouchers",
        {"code": "MOST", "kind": "fixed", "value": "1", "usage_limit": COUNT_MAX},
    )
    link = admin_api.post(
        "/api/v1/admin/links",
        {"channel": "web", "lines": [{"sku": "MUG"}], "usage_limit": COUNT_MAX},
    )
    assert voucher.status_code == 201, voucher.json()
    assert link.status_code == 201, link.json()
    assert Voucher.objects.get().usage_limit == COUNT_MAX  # PostgreSQL's integer holds it
    assert ShopLink.objects.get().usage_limit == COUNT_MAX
    for path, body in [
        ("/api/v1/admin/vouchers", {"code": "MORE", "kind": "fixed", "value": "1"}),
        ("/api/v1/admin/links", {"channel": "web", "lines": [{"sku": "MUG"}]}),
    ]:
        refused(admin_api.post(path, {**body, "usage_limit": COUNT_MAX + 1}), "usage_limit")
