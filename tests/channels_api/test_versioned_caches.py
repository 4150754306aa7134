"""Keys, channels, tax settings and shipping methods come from per-process caches, and a
change committed by another process is seen by the next request all the same.

Each change here is made by a Django process of its own (`django_elsewhere`): its own
connection and commit; this process's caches learn of it only through the versions the
database triggers count (backoffice/versions).
"""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from catalog.models import Channel
from channels_api.models import ApiKey
from orders.services.setup import shipping_method_create
from tests.conftest import Api
from tests.factories import make_channel, make_key, make_product, make_warehouse, receive
from tests.processes import django_elsewhere

pytestmark = pytest.mark.django_db(transaction=True)

ADDRESS = {"name": "Q", "line1": "1 Main St", "city": "Town", "postal_code": "1", "country": "US"}


@pytest.fixture
def world() -> dict:
    web = make_channel("web", kind=Channel.Kind.WEB)
    warehouse = make_warehouse("main", channels=[web])
    receive(
        make_product(slug="tee", skus={"TEE": "10.00"}, channels=[web]).variants.get(),
        warehouse,
        50,
    )
    shipping_method_create(channel=web, code="standard", name="Standard", price="4.99")
    key, raw = make_key(web)
    return {"web": web, "key": key, "api": Api(raw)}


def checkout(api: Api, **extra):
    body = {
        "lines": [{"sku": "TEE", "quantity": 1}],
        "email": "q@example.com",
        "shipping_address": ADDRESS,
        "shipping_method": "standard",
        **extra,
    }
    return api.post("/api/v1/store/checkout", body, HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()))


def test_a_key_revoked_in_another_process_is_refused_at_once(world):
    api = world["api"]
    assert api.get("/api/v1/store/products").status_code == 200
    assert checkout(api).status_code == 201  # the key is in this process's cache

    django_elsewhere(
        "from channels_api.models import ApiKey\n"
        f"ApiKey.objects.get(pk={world['key'].pk}).revoke()\n"
    )

    for response in (api.get("/api/v1/store/products"), checkout(api)):
        assert response.status_code == 401
        assert response.json()["code"] == "not_authenticated"
        assert "revoked" in response.json()["detail"]


def test_a_channel_deactivated_in_another_process_is_refused_at_once(world):
    api = world["api"]
    assert checkout(api).status_code == 201

    django_elsewhere(
        "from catalog.models import Channel\n"
        f"channel = Channel.objects.get(pk={world['web'].pk})\n"
        "channel.active = False\n"
        "channel.save()\n"
    )

    response = checkout(api)
    assert response.status_code == 401
    assert "channel is not active" in response.json()["detail"]


def test_a_tax_rate_changed_in_another_process_is_charged_at_once(world):
    api = world["api"]
    assert checkout(api).json()["tax"]["amount"] == "0.00"

    django_elsewhere(
        "from catalog.models import Channel\n"
        f"Channel.objects.filter(pk={world['web'].pk}).update(tax_rate='0.1000')\n"
    )

    order = checkout(api).json()
    subtotal_and_shipping = Decimal(order["subtotal"]["amount"]) + Decimal(
        order["shipping"]["amount"]
    )
    assert Decimal(order["tax"]["amount"]) == (subtotal_and_shipping / 10).quantize(Decimal("0.01"))


def test_a_shipping_price_changed_in_another_process_is_charged_at_once(world):
    api = world["api"]
    assert checkout(api).json()["shipping"]["amount"] == "4.99"

    django_elsewhere(
        "from orders.models import ShippingMethod\n"
        "ShippingMethod.objects.filter(code='standard').update(price='6.50')\n"
    )

    assert checkout(api).json()["shipping"]["amount"] == "6.50"

    django_elsewhere(
        "from orders.models import ShippingMethod\n"
        "ShippingMethod.objects.filter(code='standard').update(active=False)\n"
    )

    response = checkout(api)
    assert response.status_code == 400
    assert "shipping_method" in response.json()["errors"]


def test_a_warm_checkout_reads_neither_the_key_nor_the_shipping_method(world):
    api = world["api"]
    checkout(api)  # loads both

    with CaptureQueriesContext(connection) as queries:
        assert checkout(api).status_code == 201

    statements = [query["sql"] for query in queries]
    assert statements[0].startswith("SELECT name, SUM(value)")
    assert not [sql for sql in statements if '"channels_api_apikey"' in sql and "SELECT" in sql]
    assert not [sql for sql in statements if '"orders_shippingmethod"' in sql]


def test_stamping_when_a_key_was_last_used_is_no_change_to_the_cached_keys(world):
    from backoffice.versions.current import data_versions_read

    api = world["api"]
    before = data_versions_read()

    assert api.get("/api/v1/store/products").status_code == 200

    assert ApiKey.objects.get(pk=world["key"].pk).last_used_at is not None
    assert data_versions_read().get("keys") == before.get("keys")
    with CaptureQueriesContext(connection) as queries:
        api.get("/api/v1/store/carts/00000000-0000-4000-8000-000000000000")
    assert not [q for q in queries if '"channels_api_apikey"' in q["sql"]]
