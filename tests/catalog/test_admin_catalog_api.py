"""Admin API for channels and products with nested variants and listings."""

from __future__ import annotations

import pytest

from catalog.models import Channel, ChannelPrice, Product, ProductVariant
from tests.channels_api.test_auth_and_errors import assert_problem

pytestmark = pytest.mark.django_db

PRODUCTS = "/api/v1/admin/products"
TEE = {
    "name": "Tee",
    "slug": "tee",
    "variants": [
        {"sku": "TEE-S", "price": "19.99", "options": {"size": "S"}},
        {"sku": "TEE-M", "price": "19.99"},
    ],
    "listings": [{"channel": "web", "published": True, "prices": {"TEE-S": "17.99"}}],
}


def test_create_channel(admin_api):
    response = admin_api.post(
        "/api/v1/admin/channels",
        {"code": "pos-1", "name": "Till", "kind": "pos", "currency": "USD"},
    )
    assert response.status_code == 201
    assert response.json()["code"] == "pos-1"
    channel = Channel.objects.get(code="pos-1")
    assert channel.kind == "pos"
    assert channel.reservation_ttl_seconds == 0  # a POS holds nothing


def test_duplicate_channel_code_is_400(admin_api, web):
    body = assert_problem(admin_api.post("/api/v1/admin/channels", {"code": "web"}), 400, "invalid")
    assert "code" in body["errors"]


def test_create_product_with_variants_and_listing_prices(admin_api, web):
    response = admin_api.post(PRODUCTS, TEE)

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["slug"] == "tee"
    assert [v["sku"] for v in body["variants"]] == ["TEE-S", "TEE-M"]
    assert body["variants"][0]["price"] == {"amount": "19.99", "currency": "USD"}
    assert body["listings"] == [
        {
            "channel": "web",
            "published": True,
            "prices": {"TEE-S": {"amount": "17.99", "currency": "USD"}},
        }
    ]
    assert ChannelPrice.objects.get(variant__sku="TEE-S", channel=web).price == pytest.approx(
        ChannelPrice.objects.get(variant__sku="TEE-S").price
    )


def test_client_cannot_set_ids_or_timestamps(admin_api, web):
    payload = {**TEE, "id": "999", "created_at": "2000-01-01T00:00:00Z"}
    body = admin_api.post(PRODUCTS, payload).json()
    assert body["id"] != "999"
    assert not body["created_at"].startswith("2000")


def test_float_prices_and_too_many_decimals_are_refused(admin_api, web):
    for bad in (19.99, "19.999", "-1", "abc"):
        payload = {**TEE, "variants": [{"sku": "TEE-S", "price": bad}], "listings": []}
        body = assert_problem(admin_api.post(PRODUCTS, payload), 400, "invalid")
        assert any(field.startswith("variants") for field in body["errors"]), body
    assert not Product.objects.exists()


def test_unknown_channel_or_sku_in_listing_rolls_everything_back(admin_api, web):
    payload = {**TEE, "listings": [{"channel": "nope"}]}
    body = assert_problem(admin_api.post(PRODUCTS, payload), 400, "invalid")
    assert "listings.0.channel" in body["errors"]
    payload = {**TEE, "listings": [{"channel": "web", "prices": {"NOPE": "1.00"}}]}
    assert_problem(admin_api.post(PRODUCTS, payload), 400, "invalid")
    assert not Product.objects.exists()
    assert not ProductVariant.objects.exists()


def test_sku_is_unique_across_products(admin_api, web):
    assert admin_api.post(PRODUCTS, TEE).status_code == 201
    again = {**TEE, "slug": "tee-2"}
    body = assert_problem(admin_api.post(PRODUCTS, again), 400, "invalid")
    assert "variants.0.sku" in body["errors"]
    assert Product.objects.count() == 1


def test_update_upserts_variants_and_replaces_listing_prices(admin_api, web):
    product_id = admin_api.post(PRODUCTS, TEE).json()["id"]

    response = admin_api.patch(
        f"{PRODUCTS}/{product_id}",
        {
            "name": "Better Tee",
            "variants": [{"sku": "TEE-M", "price": "21.00"}, {"sku": "TEE-L", "price": "22.00"}],
            "listings": [{"channel": "web", "published": False, "prices": {"TEE-M": "20.00"}}],
        },
    )

    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["name"] == "Better Tee"
    assert {v["sku"]: v["price"]["amount"] for v in body["variants"]} == {
        "TEE-S": "19.99",
        "TEE-M": "21.00",
        "TEE-L": "22.00",
    }
    assert body["listings"] == [
        {
            "channel": "web",
            "published": False,
            "prices": {"TEE-M": {"amount": "20.00", "currency": "USD"}},
        }
    ]


def test_get_list_filter_and_delete(admin_api, web):
    product_id = admin_api.post(PRODUCTS, TEE).json()["id"]
    assert admin_api.get(f"{PRODUCTS}/{product_id}").json()["slug"] == "tee"
    assert [p["slug"] for p in admin_api.get(f"{PRODUCTS}?sku=tee-m").json()["results"]] == ["tee"]
    assert admin_api.get(f"{PRODUCTS}?search=nothing").json()["results"] == []
    assert admin_api.delete(f"{PRODUCTS}/{product_id}").status_code == 204
    assert_problem(admin_api.get(f"{PRODUCTS}/{product_id}"), 404, "not_found")
    assert_problem(admin_api.get(f"{PRODUCTS}/not-a-number"), 404, "not_found")
