"""A channel-limited secret key reads only its channel's catalog: products not listed in its
channel cannot be seen or inferred, by list, filter, detail, id, SKU, stock or vouchers."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from catalog.models import Channel, Product
from channels_api.models import ApiKey
from inventory.models import StockLevel
from orders.models import Voucher
from orders.services.setup import voucher_create
from staff.roles import SUPPORT
from tests.channels_api.test_auth_and_errors import assert_problem
from tests.conftest import Api
from tests.factories import make_key, make_product, make_warehouse, receive
from tests.shop_world import staff_user

pytestmark = pytest.mark.django_db

PRODUCTS = "/api/v1/admin/products"
STOCK = "/api/v1/admin/stock"


@pytest.fixture
def shop():
    """`home` lists HOME-SKU, `away` lists AWAY-SKU (and a draft, DRAFT-SKU, unpublished),
    both list BOTH-SKU; one warehouse serves both and stocks everything."""
    home = Channel.objects.create(code="home", name="Home", kind="web")
    away = Channel.objects.create(code="away", name="Away", kind="web")
    shared = make_warehouse("shared", channels=[home, away])
    products = {
        "home": make_product(slug="home-only", skus={"HOME-SKU": "10.00"}, channels=[home]),
        "away": make_product(slug="away-only", skus={"AWAY-SKU": "12.00"}, channels=[away]),
        "draft": make_product(
            slug="away-draft", skus={"DRAFT-SKU": "9.00"}, channels=[away], published=False
        ),
        "both": make_product(
            slug="everywhere", skus={"BOTH-SKU": "5.00"}, channels=[home, away],
            prices={"home": {"BOTH-SKU": "4.50"}},
        ),
    }  # fmt: skip
    for product in products.values():
        receive(product.variants.get(), shared, 5)
    voucher_create(code="HOME5", kind=Voucher.Kind.FIXED, value="5", channels=[home])
    voucher_create(code="ALL5", kind=Voucher.Kind.FIXED, value="5")
    return {
        "products": products,
        "away_admin": Api(make_key(away, kind=ApiKey.Kind.SECRET)[1]),
        "admin": Api(make_key(None, kind=ApiKey.Kind.SECRET)[1]),
    }


def slugs(response) -> list[str]:
    assert response.status_code == 200, response.json()
    return [product["slug"] for product in response.json()["results"]]


def test_the_product_list_holds_only_the_channels_catalog(shop):
    away = shop["away_admin"]

    assert slugs(away.get(PRODUCTS)) == ["away-only", "away-draft", "everywhere"]
    assert slugs(away.get(f"{PRODUCTS}?sku=HOME-SKU")) == []
    assert slugs(away.get(f"{PRODUCTS}?search=home")) == []
    assert slugs(away.get(f"{PRODUCTS}?channel=home")) == []  # nor other channels' listings
    assert slugs(away.get(f"{PRODUCTS}?channel=away")) == ["away-only", "away-draft", "everywhere"]
    [both] = away.get(f"{PRODUCTS}?sku=BOTH-SKU").json()["results"]
    assert both["listings"] == [{"channel": "away", "published": True, "prices": {}}]
    assert "home" not in str(away.get(PRODUCTS).json())
    assert len(slugs(shop["admin"].get(PRODUCTS))) == 4  # an unrestricted key sees all


def test_a_product_of_another_channel_answers_as_if_it_did_not_exist(shop):
    away, hidden = shop["away_admin"], shop["products"]["home"]
    missing_id = Product.objects.order_by("-pk").first().pk + 1000

    hidden_answer = away.get(f"{PRODUCTS}/{hidden.pk}")
    missing_answer = away.get(f"{PRODUCTS}/{missing_id}")

    assert_problem(hidden_answer, 404, "not_found")
    assert hidden_answer.json() == missing_answer.json()
    for method in ("patch", "delete"):  # writes need an unrestricted key, whatever the id
        for pk in (hidden.pk, missing_id):
            refused = getattr(away, method)(f"{PRODUCTS}/{pk}", {"name": "x"})
            assert_problem(refused, 403, "permission_denied")
    assert away.get(f"{PRODUCTS}/{shop['products']['away'].pk}").status_code == 200


def test_stock_of_another_channels_products_does_not_exist_for_the_key(shop):
    away = shop["away_admin"]
    before = list(StockLevel.objects.order_by("pk").values_list("on_hand", flat=True))

    listed = away.get(STOCK).json()["results"]
    by_sku = away.get(f"{STOCK}?sku=HOME-SKU").json()["results"]
    movements = away.get(f"{STOCK}/movements?sku=HOME-SKU").json()["results"]
    detail = away.get(f"{STOCK}/shared/HOME-SKU")
    counted = away.put(f"{STOCK}/shared/HOME-SKU", {"on_hand": 1})
    adjusted = away.post(
        f"{STOCK}/adjustments",
        {"sku": "HOME-SKU", "warehouse": "shared", "delta": 1, "reason": "probe"},
    )
    unknown = away.post(
        f"{STOCK}/adjustments",
        {"sku": "NO-SUCH-SKU", "warehouse": "shared", "delta": 1, "reason": "probe"},
    )
    bulk = away.post(
        f"{STOCK}/bulk", {"items": [{"sku": "HOME-SKU", "warehouse": "shared", "delta": 1}]}
    )

    assert sorted(level["sku"] for level in listed) == ["AWAY-SKU", "BOTH-SKU", "DRAFT-SKU"]
    assert by_sku == [] and movements == []
    assert_problem(detail, 404, "not_found")
    assert_problem(counted, 404, "not_found")
    assert assert_problem(adjusted, 400, "invalid")["errors"] == {
        "sku": ["Unknown SKU 'HOME-SKU'."]
    }
    assert assert_problem(unknown, 400, "invalid")["errors"] == {
        "sku": ["Unknown SKU 'NO-SUCH-SKU'."]
    }
    assert bulk.json()["results"][0]["errors"] == {"sku": ["Unknown SKU 'HOME-SKU'."]}
    assert list(StockLevel.objects.order_by("pk").values_list("on_hand", flat=True)) == before
    assert away.put(f"{STOCK}/shared/AWAY-SKU", {"on_hand": 7}).json()["on_hand"] == 7


def test_vouchers_of_another_channel_are_not_listed(shop):
    listed = shop["away_admin"].get("/api/v1/admin/vouchers").json()["results"]

    assert [(voucher["code"], voucher["channels"]) for voucher in listed] == [("ALL5", [])]
    every = shop["admin"].get("/api/v1/admin/vouchers").json()["results"]
    assert [(voucher["code"], voucher["channels"]) for voucher in every] == [
        ("ALL5", []),
        ("HOME5", ["home"]),
    ]


@pytest.fixture
def vouchers_in_two_currencies():
    """`dollars` sells in USD, `euros` in EUR; vouchers for every channel in each currency,
    one with no money (a percentage, valid in both) and one of each channel."""
    dollars = Channel.objects.create(code="dollars", name="Dollars", kind="web", currency="USD")
    euros = Channel.objects.create(code="euros", name="Euros", kind="web", currency="EUR")
    voucher_create(code="ANY10", kind=Voucher.Kind.PERCENTAGE, value="10")
    voucher_create(code="USD5", kind=Voucher.Kind.FIXED, value="5", currency="USD")
    voucher_create(code="EUR5", kind=Voucher.Kind.FIXED, value="5", currency="EUR")
    voucher_create(
        code="EUROVER20", kind=Voucher.Kind.PERCENTAGE, value="10", min_subtotal="20",
        currency="EUR",
    )  # fmt: skip
    voucher_create(code="DOLLARS1", kind=Voucher.Kind.FIXED, value="1", channels=[dollars])
    voucher_create(code="EUROS1", kind=Voucher.Kind.FIXED, value="1", channels=[euros])
    return dollars, euros


def test_a_channel_limited_key_sees_only_the_vouchers_valid_in_its_channel(
    vouchers_in_two_currencies,
):
    dollars, euros = vouchers_in_two_currencies
    dollars_admin = Api(make_key(dollars, kind=ApiKey.Kind.SECRET)[1])
    euros_admin = Api(make_key(euros, kind=ApiKey.Kind.SECRET)[1])

    def codes(api) -> list[str]:
        response = api.get("/api/v1/admin/vouchers")
        assert response.status_code == 200, response.json()
        return [voucher["code"] for voucher in response.json()["results"]]

    assert codes(dollars_admin) == ["ANY10", "DOLLARS1", "USD5"]
    assert codes(euros_admin) == ["ANY10", "EUR5", "EUROS1", "EUROVER20"]
    for code in ("EUR5", "eurover20", "EUROS1"):  # detail agrees with the list
        assert_problem(dollars_admin.get(f"/api/v1/admin/vouchers/{code}"), 404, "not_found")
    assert dollars_admin.get("/api/v1/admin/vouchers/usd5").json()["code"] == "USD5"
    assert euros_admin.get("/api/v1/admin/vouchers/EUR5").json()["currency"] == "EUR"


def test_a_channel_that_changed_currency_no_longer_sees_its_vouchers_in_the_old_one(
    vouchers_in_two_currencies,
):
    dollars, _ = vouchers_in_two_currencies
    dollars_admin = Api(make_key(dollars, kind=ApiKey.Kind.SECRET)[1])
    Channel.objects.filter(pk=dollars.pk).update(currency="EUR")  # DOLLARS1 stays in USD

    listed = dollars_admin.get("/api/v1/admin/vouchers").json()["results"]

    assert [voucher["code"] for voucher in listed] == ["ANY10", "EUR5", "EUROVER20"]
    assert_problem(dollars_admin.get("/api/v1/admin/vouchers/DOLLARS1"), 404, "not_found")


def test_scoped_staff_see_in_the_admin_only_the_vouchers_valid_in_their_channels(
    client, vouchers_in_two_currencies
):
    dollars, _ = vouchers_in_two_currencies
    support = staff_user("dollar-support", SUPPORT, channels=[dollars])
    support.user_permissions.add(Permission.objects.get(codename="view_voucher"))
    client.force_login(support)

    listed = client.get(reverse("admin:orders_voucher_changelist"))

    assert listed.status_code == 200
    assert [voucher.code for voucher in listed.context["cl"].result_list] == [
        "ANY10", "DOLLARS1", "USD5",
    ]  # fmt: skip
    hidden = Voucher.objects.get(code="EUR5")
    assert client.get(reverse("admin:orders_voucher_change", args=[hidden.pk])).status_code == 404
