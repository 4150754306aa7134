"""The store's product pages: conditional requests, the shared cache, and never a stale answer.

Every change that a page shows (a price, a listing, publication, stock: sold, counted,
held, released, expired) is seen by the first request that starts after it committed,
whichever process or connection made it (channels_api/store/browse_cache.py).
"""

from __future__ import annotations

import time

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from catalog.models import Channel, ProductVariant
from orders.services.setup import shipping_method_create
from tests.conftest import Api
from tests.factories import make_channel, make_key, make_product, make_warehouse, receive
from tests.processes import django_elsewhere

# Changes commit for real (no test transaction): as another process would see them.
pytestmark = pytest.mark.django_db(transaction=True)

PRODUCTS = "/api/v1/store/products"
TEE = f"{PRODUCTS}/tee"
ADDRESS = {"name": "Q", "line1": "1 Main St", "city": "Town", "postal_code": "1", "country": "US"}


@pytest.fixture
def world() -> dict:
    web = make_channel("web", kind=Channel.Kind.WEB)
    warehouse = make_warehouse("main", channels=[web])
    tee = make_product(slug="tee", skus={"TEE": "10.00"}, channels=[web])
    receive(tee.variants.get(), warehouse, 5)
    shipping_method_create(channel=web, code="standard", name="Standard", price="4.99")
    raw = make_key(web)[1]
    admin_raw = make_key(None, kind="secret")[1]
    return {"web": web, "warehouse": warehouse, "tee": tee, "raw": raw, "admin": Api(admin_raw)}


@pytest.fixture
def store(world) -> Api:
    return Api(world["raw"])


def variant_of(response) -> dict:
    assert response.status_code == 200, response.content
    return response.json()["variants"][0]


def listed(response) -> dict:
    assert response.status_code == 200, response.content
    return {product["slug"]: product["variants"][0] for product in response.json()["results"]}


def test_answers_carry_a_strong_etag_cache_control_and_vary(store):
    for path in (PRODUCTS, TEE):
        response = store.get(path)

        assert response.status_code == 200
        assert response["ETag"].startswith('"') and response["ETag"].endswith('"')
        assert response["Cache-Control"] == "public, no-cache"
        assert response["Vary"] == "Authorization"
        assert store.get(path)["ETag"] == response["ETag"]


def test_if_none_match_with_the_current_etag_answers_304_without_a_body(store):
    for path in (PRODUCTS, TEE, f"{PRODUCTS}?search=tee&limit=5"):
        etag = store.get(path)["ETag"]

        for header in (etag, f"W/{etag}", f'"other", {etag}', "*"):
            response = store.get(path, HTTP_IF_NONE_MATCH=header)
            assert response.status_code == 304, header
            assert response.content == b""
            assert response["ETag"] == etag
            assert response["Cache-Control"] == "public, no-cache"
            assert response["Vary"] == "Authorization"


@pytest.mark.parametrize(
    "header", ['"nope"', "garbage", 'W/"', ",,,", '"' + "x" * 5000 + '"', "\u00e9\u00e9"]
)
def test_a_malformed_or_other_if_none_match_is_a_full_answer(store, header):
    response = store.get(TEE, HTTP_IF_NONE_MATCH=header.encode().decode("latin-1"))

    assert response.status_code == 200
    assert response.json()["slug"] == "tee"


def test_a_cached_list_read_costs_two_statements_the_versions_and_its_stock(store, world):
    store.get(f"{PRODUCTS}?limit=5")  # built and cached; the key loaded and stamped

    for headers in ({}, {"HTTP_IF_NONE_MATCH": store.get(f"{PRODUCTS}?limit=5")["ETag"]}):
        with CaptureQueriesContext(connection) as queries:
            response = store.get(f"{PRODUCTS}?limit=5", **headers)

        assert response.status_code in (200, 304)
        versions, stock = [query["sql"] for query in queries]
        assert versions == 'SELECT name, SUM(value) FROM "versions_dataversion" GROUP BY name'
        assert stock.startswith('SELECT item, SUM(value) FROM "versions_itemversion"')


def test_a_cached_product_page_read_costs_one_statement_its_stock_version_in_it(store, world):
    store.get(TEE)  # built and cached; the key loaded and stamped

    for headers in ({}, {"HTTP_IF_NONE_MATCH": store.get(TEE)["ETag"]}):
        with CaptureQueriesContext(connection) as queries:
            response = store.get(TEE, **headers)

        assert response.status_code in (200, 304)
        (versions,) = [query["sql"] for query in queries]
        assert '"versions_dataversion"' in versions and '"versions_itemversion"' in versions


def test_a_sale_of_one_product_keeps_the_other_products_pages_cached(store, world):
    """A checkout of the tee changes the tee's stock version only: the mug's page and a
    list of mugs stay cache hits (1 and 2 statements), the tee's page and the lists that
    show it have the new stock at once."""
    mug = make_product(slug="mug", skus={"MUG": "3.00"}, channels=[world["web"]])
    receive(mug.variants.get(), world["warehouse"], 4)
    mug_page, mugs = f"{PRODUCTS}/mug", f"{PRODUCTS}?sku=MUG"
    assert variant_of(store.get(mug_page))["available"] == 4
    assert set(listed(store.get(mugs))) == {"mug"}
    assert variant_of(store.get(TEE))["available"] == 5
    assert listed(store.get(PRODUCTS))["tee"]["available"] == 5

    sold = store.post(
        "/api/v1/store/checkout",
        {
            "lines": [{"sku": "TEE", "quantity": 3}],
            "email": "a@example.com",
            "shipping_address": ADDRESS,
            "shipping_method": "standard",
            "payment": {"provider": "test", "token": "tok_approve"},
        },
        HTTP_IDEMPOTENCY_KEY="sale",
    )
    assert sold.status_code == 201, sold.json()

    with CaptureQueriesContext(connection) as page:
        assert variant_of(store.get(mug_page))["available"] == 4
    with CaptureQueriesContext(connection) as listing:
        assert listed(store.get(mugs))["mug"]["available"] == 4
    assert len(page) == 1  # the versions, with the mug's stock version: a hit
    assert len(listing) == 2  # the versions, the mug's stock version: a hit
    assert variant_of(store.get(TEE))["available"] == 2
    assert listed(store.get(PRODUCTS))["tee"]["available"] == 2


def test_pages_are_cached_per_channel_and_per_query(world):
    other = make_channel("insta", kind=Channel.Kind.INSTAGRAM)
    make_product(slug="mug", skus={"MUG": "3.00"}, channels=[world["web"], other])
    web, insta = Api(world["raw"]), Api(make_key(other)[1])

    assert set(listed(web.get(PRODUCTS))) == {"tee", "mug"}
    assert set(listed(insta.get(PRODUCTS))) == {"mug"}
    assert set(listed(web.get(f"{PRODUCTS}?sku=MUG"))) == {"mug"}
    assert set(listed(web.get(f"{PRODUCTS}?search=tee"))) == {"tee"}
    first = web.get(f"{PRODUCTS}?limit=1").json()
    assert len(first["results"]) == 1 and first["next"]
    assert insta.get(TEE).status_code == 404


def test_a_price_changed_by_staff_is_served_at_once(store, world):
    assert variant_of(store.get(TEE))["price"]["amount"] == "10.00"
    assert listed(store.get(PRODUCTS))["tee"]["price"]["amount"] == "10.00"
    etag = store.get(TEE)["ETag"]

    response = world["admin"].patch(
        f"/api/v1/admin/products/{world['tee'].pk}",
        {"variants": [{"sku": "TEE", "price": "12.50"}]},
    )
    assert response.status_code == 200, response.json()

    assert store.get(TEE, HTTP_IF_NONE_MATCH=etag).status_code == 200
    assert variant_of(store.get(TEE))["price"]["amount"] == "12.50"
    assert listed(store.get(PRODUCTS))["tee"]["price"]["amount"] == "12.50"


def test_a_product_unpublished_by_staff_disappears_at_once(store, world):
    assert store.get(TEE).status_code == 200
    assert "tee" in listed(store.get(PRODUCTS))

    response = world["admin"].patch(
        f"/api/v1/admin/products/{world['tee'].pk}",
        {"listings": [{"channel": "web", "published": False}]},
    )
    assert response.status_code == 200, response.json()

    assert store.get(TEE).status_code == 404
    assert "tee" not in listed(store.get(PRODUCTS))


def test_stock_counted_by_staff_is_served_at_once(store, world):
    assert variant_of(store.get(TEE))["available"] == 5

    response = world["admin"].put("/api/v1/admin/stock/main/TEE", {"on_hand": 2})
    assert response.status_code == 200, response.json()
    assert variant_of(store.get(TEE))["available"] == 2

    response = world["admin"].post(
        "/api/v1/admin/stock/adjustments",
        {"sku": "TEE", "warehouse": "main", "delta": 7, "reason": "received"},
    )
    assert response.status_code == 201, response.json()
    assert variant_of(store.get(TEE))["available"] == 9
    assert listed(store.get(PRODUCTS))["tee"]["available"] == 9


def test_stock_sold_by_a_checkout_in_another_process_is_served_at_once(store, world):
    assert variant_of(store.get(TEE))["available"] == 5
    assert listed(store.get(PRODUCTS))["tee"]["available"] == 5

    output = django_elsewhere(
        "import json\n"
        "from django.test import Client\n"
        f"api = Client(HTTP_AUTHORIZATION='Bearer {world['raw']}')\n"
        "body = {'lines': [{'sku': 'TEE', 'quantity': 3}], 'email': 'a@example.com',\n"
        f"        'shipping_address': {ADDRESS!r}, 'shipping_method': 'standard',\n"
        "        'payment': {'provider': 'test', 'token': 'tok_approve'}}\n"
        "response = api.post('/api/v1/store/checkout', body, content_type='application/json')\n"
        "print('STATUS', response.status_code)\n"
    )
    assert "STATUS 201" in output

    assert variant_of(store.get(TEE))["available"] == 2
    assert listed(store.get(PRODUCTS))["tee"]["available"] == 2


def test_a_checkout_hold_in_another_process_is_served_at_once(store, world):
    """The checkout's one-statement hold counts its product's stock version itself, before
    it locks the row, and no trigger runs for it (`catalog.stock_versions`): the pages
    cached before it are not served once it has committed."""
    assert variant_of(store.get(TEE))["available"] == 5
    assert listed(store.get(PRODUCTS))["tee"]["available"] == 5

    output = django_elsewhere(
        "from catalog.models import Channel, ProductVariant\n"
        "from inventory.services import StockLine, stock_reserve\n"
        "tee = ProductVariant.objects.get(sku='TEE')\n"
        "held = stock_reserve(channel=Channel.objects.get(code='web'), holder='checkout:x',\n"
        "                     lines=[StockLine(tee, 3)], fresh=True)\n"
        "print('HELD', sum(hold.quantity for hold in held))\n"
    )
    assert "HELD 3" in output

    assert variant_of(store.get(TEE))["available"] == 2
    assert listed(store.get(PRODUCTS))["tee"]["available"] == 2


def test_a_stock_row_written_by_raw_sql_on_another_connection_is_served_at_once(store, world):
    """Whatever writes (a shell, a migration, another service), the trigger counts it."""
    assert variant_of(store.get(TEE))["available"] == 5

    django_elsewhere(
        "from django.db import connection\n"
        "with connection.cursor() as cursor:\n"
        "    cursor.execute('UPDATE inventory_stocklevel SET on_hand = 1')\n"
    )

    assert variant_of(store.get(TEE))["available"] == 1


def test_a_hold_is_seen_at_once_and_its_release_too(store, world):
    assert variant_of(store.get(TEE))["available"] == 5
    cart = store.post("/api/v1/store/carts", {"lines": [{"sku": "TEE", "quantity": 2}]}).json()
    assert variant_of(store.get(TEE))["available"] == 3
    assert listed(store.get(PRODUCTS))["tee"]["available"] == 3

    line = cart["lines"][0]["id"]
    assert store.delete(f"/api/v1/store/carts/{cart['id']}/lines/{line}").status_code in (200, 204)

    assert variant_of(store.get(TEE))["available"] == 5
    assert listed(store.get(PRODUCTS))["tee"]["available"] == 5


def test_a_hold_that_expires_frees_its_units_without_any_write(store, world):
    Channel.objects.filter(pk=world["web"].pk).update(reservation_ttl_seconds=2)
    store.post("/api/v1/store/carts", {"lines": [{"sku": "TEE", "quantity": 2}]})
    assert variant_of(store.get(TEE))["available"] == 3
    assert listed(store.get(PRODUCTS))["tee"]["available"] == 3
    versions = _versions()

    time.sleep(2.2)  # the hold expires; its row stays until the purge

    assert _versions() == versions  # nothing was written
    assert variant_of(store.get(TEE))["available"] == 5
    assert listed(store.get(PRODUCTS))["tee"]["available"] == 5


def test_a_new_variant_price_in_the_channel_by_raw_sql_elsewhere_is_served_at_once(store, world):
    variant = ProductVariant.objects.get(sku="TEE")
    assert variant_of(store.get(TEE))["price"]["amount"] == "10.00"

    django_elsewhere(
        "from catalog.models import ChannelPrice, ProductVariant, Channel\n"
        f"ChannelPrice.objects.create(variant_id={variant.pk}, channel_id={world['web'].pk},"
        " price='7.25')\n"
    )

    assert variant_of(store.get(TEE))["price"]["amount"] == "7.25"


def _versions() -> dict[str, int]:
    from backoffice.versions.current import data_versions_read

    return data_versions_read()
