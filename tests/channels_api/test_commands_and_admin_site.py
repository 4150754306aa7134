"""Management commands, the demo loader and the Django admin pages."""

from __future__ import annotations

from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse

from backoffice.money import quantize
from catalog.models import Channel, Product, ProductVariant
from channels_api.demo import demo_amount
from channels_api.models import ApiKey
from delivery.models import DeliveryZone
from inventory.models import StockLevel, StockMovement, Warehouse
from orders.models import Voucher
from staff.models import RefundLimit
from tests.conftest import Api

pytestmark = pytest.mark.django_db


def run(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out, stderr=StringIO())
    return out.getvalue()


def test_create_channel_and_keys_from_the_command_line():
    assert run("create_channel", "shop", "--kind", "web", "--currency", "USD").strip() == "shop"
    publishable = run("create_api_key", "--kind", "publishable", "--channel", "shop")
    secret = run("create_api_key", "--kind", "secret", "--rate-limit", "100")
    pk, sk = publishable.strip().splitlines()[-1], secret.strip().splitlines()[-1]
    assert pk.startswith("pk_") and sk.startswith("sk_")
    assert Api(pk).get("/api/v1/store/products").status_code == 200
    assert Api(sk).get("/api/v1/admin/channels").status_code == 200
    assert ApiKey.objects.get(kind="secret").rate_limit == 100


def test_commands_refuse_bad_input():
    with pytest.raises(CommandError):
        run("create_api_key", "--kind", "publishable")
    with pytest.raises(CommandError):
        run("create_api_key", "--kind", "publishable", "--channel", "missing")
    run("create_channel", "shop")
    with pytest.raises(CommandError):
        run("create_channel", "shop")
    assert Channel.objects.count() == 1


def test_demo_loader_runs_twice_without_duplicates(tmp_path, settings):
    # Both through the fixture: an override_settings decorator around the fixture's own
    # override would leave DEBUG on for every later test.
    settings.DEBUG = True
    settings.VAR_DIR = tmp_path
    first = run("load_demo_data")
    counts = [
        m.objects.count()
        for m in (Channel, Product, ProductVariant, Warehouse, StockLevel, StockMovement, ApiKey)
    ]
    second = run("load_demo_data")

    assert [
        m.objects.count()
        for m in (Channel, Product, ProductVariant, Warehouse, StockLevel, StockMovement, ApiKey)
    ] == counts
    assert sorted(Channel.objects.values_list("code", flat=True)) == [
        "chatbot",
        "instagram",
        "pos",
        "web",
    ]
    assert 18 <= counts[1] <= 25
    assert first.splitlines()[-5:] == second.splitlines()[-5:]  # same keys printed
    key = next(line.split()[-1] for line in second.splitlines() if "(web)" in line)
    body = Api(key).get("/api/v1/store/products").json()
    assert body["results"][0]["variants"][0]["available"] > 0
    assert Warehouse.objects.get(code="store").kind == "store"


def test_staff_pages_render_and_api_key_is_shown_once(admin_client, web):
    for model in (
        "catalog/product",
        "catalog/channel",
        "inventory/stocklevel",
        "inventory/stockmovement",
        "channels_api/apikey",
        "inventory/warehouse",
    ):
        assert admin_client.get(f"/admin/{model}/").status_code == 200, model
    response = admin_client.post(
        reverse("admin:channels_api_apikey_add"),
        {"kind": "publishable", "channel": web.pk, "name": "shop front", "rate_limit": ""},
        follow=True,
    )
    assert response.status_code == 200
    messages = [str(m) for m in response.context["messages"]]
    raw = next(m.split(": ")[-1] for m in messages if "not shown again" in m)
    assert Api(raw).get("/api/v1/store/products").status_code == 200
    page = admin_client.get(
        reverse("admin:channels_api_apikey_change", args=[ApiKey.objects.get().pk])
    )
    assert raw not in page.content.decode()


def test_migrations_match_the_models():
    call_command("makemigrations", "--check", "--dry-run", stdout=StringIO())


@pytest.mark.parametrize("currency", ["JPY", "KWD", "EUR"])
def test_the_demo_data_follows_the_configured_currency(tmp_path, settings, currency):
    settings.DEBUG = True
    settings.VAR_DIR = tmp_path
    settings.DEFAULT_CURRENCY = currency

    run("load_demo_data")

    assert set(Channel.objects.values_list("currency", flat=True)) == {currency}
    welcome = Voucher.objects.get(code="WELCOME10")
    assert welcome.currency == currency
    assert welcome.min_subtotal == demo_amount("20.00")
    assert set(DeliveryZone.objects.values_list("currency", flat=True)) == {currency}
    assert set(RefundLimit.objects.values_list("currency", flat=True)) == {currency}
    key = next(line.split()[-1] for line in (tmp_path / "demo-keys.txt").read_text().splitlines()
               if line.startswith("publishable (web)"))  # fmt: skip
    tee = Api(key).get("/api/v1/store/products/classic-tee").json()
    assert tee["variants"][0]["price"] == {
        "amount": str(demo_amount("19.99")),
        "currency": currency,
    }
    cart = Api(key).post(
        "/api/v1/store/carts",
        {"lines": [{"sku": "CT00-M-BLA", "quantity": 2}], "email": "ada@example.com"},
    )
    assert cart.status_code == 201, cart.json()
    with_voucher = Api(key).patch(
        f"/api/v1/store/carts/{cart.json()['id']}", {"voucher_code": "WELCOME10"}
    )
    assert with_voucher.status_code == 200, with_voucher.json()
    subtotal = Decimal(with_voucher.json()["subtotal"]["amount"])
    assert subtotal == 2 * demo_amount("19.99")
    assert with_voucher.json()["discount"] == {
        "amount": str(quantize(subtotal / 10, currency)),
        "currency": currency,
    }
