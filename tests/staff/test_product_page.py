"""The product page: a product, its variants, channel prices, listings, opening stock and a
picture from one form, through the services, then on the store API."""

from __future__ import annotations

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image

from catalog.models import Product, ProductImage
from inventory.models import StockLevel, StockMovement
from tests.conftest import Api
from tests.factories import make_key

pytestmark = pytest.mark.django_db


def png() -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), "navy").save(buffer, format="PNG")
    return SimpleUploadedFile("tote.png", buffer.getvalue(), content_type="image/png")


def form_data(shop, **extra) -> dict:
    web, till = shop.web, shop.till_soho
    data = {
        "name": "Canvas Tote",
        "slug": "canvas-tote",
        "description": "Sturdy.",
        "category": "",
        "option_name_1": "Colour",
        "attribute_name_0": "material",
        "attribute_value_0": "cotton",
        f"publish_{web.pk}": "on",
        f"publish_{till.pk}": "on",
        "variants-TOTAL_FORMS": "2",
        "variants-INITIAL_FORMS": "0",
        "variants-0-sku": "TOTE-NAT",
        "variants-0-name": "Natural",
        "variants-0-option_1": "natural",
        "variants-0-price": "18.00",
        f"variants-0-price_{web.pk}": "16.50",
        f"variants-0-stock_{shop.main.pk}": "12",
        f"variants-0-stock_{shop.soho.pk}": "3",
        "variants-1-sku": "TOTE-BLK",
        "variants-1-name": "Black",
        "variants-1-option_1": "black",
        "variants-1-price": "18.00",
        f"variants-1-stock_{shop.main.pk}": "5",
        "picture_alt_0": "The natural tote, front",
        "picture_0": png(),
    }
    data.update(extra)
    return data


def test_a_product_with_two_variants_prices_and_stock_from_one_page(
    client, shop, staff, tmp_path, settings
):
    settings.MEDIA_ROOT = tmp_path
    client.force_login(staff["owner"])

    response = client.post(reverse("admin:catalog_product_add"), form_data(shop))

    assert response.status_code == 302, response.context and response.context["form"].errors
    product = Product.objects.get(slug="canvas-tote")
    assert response["Location"] == reverse("admin:catalog_product_change", args=[product.pk])
    variants = {v.sku: v for v in product.variants.all()}
    assert variants["TOTE-NAT"].options == {"Colour": "natural"}
    assert product.attributes == {"material": "cotton"}
    on_hand = {
        (level.variant.sku, level.warehouse.code): level.on_hand
        for level in StockLevel.objects.filter(variant__product=product)
    }
    assert on_hand == {("TOTE-NAT", "main"): 12, ("TOTE-NAT", "soho"): 3, ("TOTE-BLK", "main"): 5}
    assert set(
        StockMovement.objects.filter(stock_level__variant__product=product).values_list(
            "reason", "note"
        )
    ) == {("receipt", "Opening stock")}
    picture = ProductImage.objects.get(product=product)
    assert product.media == [picture.url]

    body = Api(make_key(shop.web)[1]).get("/api/v1/store/products/canvas-tote").json()
    prices = {v["sku"]: (v["price"]["amount"], v["available"]) for v in body["variants"]}
    assert prices == {"TOTE-NAT": ("16.50", 15), "TOTE-BLK": ("18.00", 5)}  # main and soho
    assert body["media"] == [f"http://testserver{picture.url}"]
    assert client.get(picture.url).status_code == 200


def test_a_refused_product_is_shown_on_its_fields_and_saves_nothing(client, shop, staff):
    client.force_login(staff["owner"])
    data = form_data(shop, **{"variants-1-sku": "TEE", "variants-0-price": "18.001"})
    data.pop("picture_0")

    response = client.post(reverse("admin:catalog_product_add"), data)

    assert response.status_code == 200
    formset = response.context["formset"]
    assert formset.forms[0].errors == {"price": ["USD allows at most 2 decimal places."]}
    assert formset.forms[1].errors == {"sku": ["SKU 'TEE' is taken."]}
    assert not Product.objects.filter(slug="canvas-tote").exists()
    assert not StockLevel.objects.filter(variant__sku="TOTE-NAT").exists()


def test_the_page_of_a_product_keeps_its_skus_and_shows_its_stock(client, shop, staff):
    client.force_login(staff["owner"])
    product = Product.objects.get(slug="tee")

    page = client.get(reverse("admin:catalog_product_change", args=[product.pk]))

    html = page.content.decode()
    assert page.status_code == 200
    assert 'name="variants-0-sku"' in html and "disabled" in html
    assert "10 on hand" in html
    assert "19.990" not in html
