"""Store product listing: channel visibility, channel prices, filters, pagination, query cost."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.factories import make_product, make_warehouse, receive

pytestmark = pytest.mark.django_db

PRODUCTS = "/api/v1/store/products"


def test_lists_only_products_published_in_the_keys_channel(store_api, web, instagram):
    make_product(slug="everywhere", channels=[web, instagram])
    make_product(slug="web-only", channels=[web])
    make_product(slug="insta-only", channels=[instagram])
    make_product(slug="hidden", channels=[web], published=False)

    response = store_api.get(PRODUCTS)

    assert response.status_code == 200
    assert [p["slug"] for p in response.json()["results"]] == ["everywhere", "web-only"]
    assert response.json()["next"] is None


def test_unpublished_product_is_404_in_one_channel_and_visible_in_another(web, instagram):
    from tests.conftest import Api
    from tests.factories import make_key

    make_product(slug="tee", channels=[web])
    make_product(slug="tee-2", channels=[instagram])
    web_api, insta_api = Api(make_key(web)[1]), Api(make_key(instagram)[1])

    assert web_api.get(f"{PRODUCTS}/tee").status_code == 200
    response = insta_api.get(f"{PRODUCTS}/tee")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == "not_found"


def test_shows_the_channel_price_and_availability(store_api, web):
    product = make_product(
        slug="tee",
        skus={"TEE-S": "19.99", "TEE-M": "19.99"},
        channels=[web],
        prices={"web": {"TEE-S": "17.99"}},
    )
    warehouse = make_warehouse(channels=[web])
    other_warehouse = make_warehouse(channels=[])
    small = product.variants.get(sku="TEE-S")
    receive(small, warehouse, 7)
    receive(small, other_warehouse, 100)

    body = store_api.get(f"{PRODUCTS}/tee").json()

    variants = {v["sku"]: v for v in body["variants"]}
    assert variants["TEE-S"]["price"] == {"amount": "17.99", "currency": "USD"}
    assert variants["TEE-M"]["price"] == {"amount": "19.99", "currency": "USD"}
    assert variants["TEE-S"]["available"] == 7
    assert variants["TEE-S"]["in_stock"] is True
    assert variants["TEE-M"]["available"] == 0
    assert variants["TEE-M"]["in_stock"] is False


def test_channel_in_another_currency_sells_only_variants_priced_in_it(db):
    from tests.conftest import Api
    from tests.factories import make_channel, make_key

    euro = make_channel("eu", currency="EUR")
    make_product(
        slug="tee",
        skus={"TEE-S": "19.99", "TEE-M": "19.99"},
        channels=[euro],
        prices={"eu": {"TEE-S": "18.50"}},
    )

    body = Api(make_key(euro)[1]).get(f"{PRODUCTS}/tee").json()

    assert [(v["sku"], v["price"]) for v in body["variants"]] == [
        ("TEE-S", {"amount": "18.50", "currency": "EUR"})
    ]


def test_filters_by_search_category_and_sku(store_api, web):
    from catalog.models import Category

    tops = Category.objects.create(slug="tops", name="Tops")
    Category.objects.create(slug="tees", name="Tees", parent=tops)
    make_product(
        slug="black-tee", name="Black Tee", channels=[web], category="tees", skus={"BT-1": "5.00"}
    )
    make_product(slug="white-mug", name="White Mug", channels=[web], skus={"WM-1": "5.00"})

    def slugs(query: str) -> list[str]:
        return [p["slug"] for p in store_api.get(f"{PRODUCTS}?{query}").json()["results"]]

    assert slugs("search=black tee") == ["black-tee"]
    assert slugs("search=mug") == ["white-mug"]
    assert slugs("search=tee mug") == []
    assert slugs("category=tops") == ["black-tee"]
    assert slugs("category=nope") == []
    assert slugs("sku=wm-1") == ["white-mug"]


def test_page_size_is_capped_and_next_link_pages_on(store_api, web):
    for number in range(105):
        make_product(slug=f"p{number:03d}", channels=[web])

    first = store_api.get(f"{PRODUCTS}?limit=1000").json()
    assert len(first["results"]) == 100
    assert first["next"] is not None
    second = store_api.get(first["next"]).json()
    assert [p["slug"] for p in second["results"]] == [f"p{n:03d}" for n in range(100, 105)]
    assert second["next"] is None
    assert len(store_api.get(PRODUCTS).json()["results"]) == 20


@pytest.mark.parametrize("page_size", [2, 40])
def test_listing_costs_a_fixed_number_of_queries(store_api, web, page_size):
    warehouse = make_warehouse(channels=[web])
    for number in range(40):
        product = make_product(
            slug=f"p{number:03d}",
            skus={f"S{number}-A": "1.00", f"S{number}-B": "2.00"},
            channels=[web],
            prices={"web": {f"S{number}-A": "0.90"}},
        )
        receive(product.variants.first(), warehouse, 3)

    store_api.get(f"{PRODUCTS}/p000")  # the key's first use: loaded, last-used stamped

    with CaptureQueriesContext(connection) as queries:
        response = store_api.get(f"{PRODUCTS}?limit={page_size}")

    assert response.status_code == 200
    assert len(response.json()["results"]) == page_size
    # the versions (the key comes from this process's cache), products, variants with
    # prices, the products' stock versions, availability with the first hold expiry
    assert len(queries) == 5, [q["sql"] for q in queries]
    assert queries[0]["sql"].startswith("SELECT name, SUM(value)")
