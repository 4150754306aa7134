"""Scoped staff in the admin: lists, search, filters, exports and typed URLs stay in scope."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.urls import reverse

from backoffice.admin_scope import ScopedAdmin
from staff.site import SECTIONS

pytestmark = pytest.mark.django_db

ORDERS = "/admin/orders/order/"


def numbers(response) -> set[str]:
    return {order.number for order in response.context["cl"].result_list}


@pytest.fixture
def soho(client, staff):
    client.force_login(staff["soho_manager"])
    return client


def test_every_admin_sees_through_the_scope_and_has_a_place_in_the_navigation():
    placed = {name for _, _, names, _ in SECTIONS for name in names}
    for model, model_admin in admin.site._registry.items():
        assert isinstance(model_admin, ScopedAdmin), model
        assert model._meta.label_lower in placed, model


def test_a_store_manager_lists_only_their_stores_orders(soho, shop):
    response = soho.get(ORDERS)

    assert response.status_code == 200
    assert numbers(response) == {shop.soho_sale.number, shop.soho_pickup.number}


def test_a_store_manager_cannot_open_another_stores_order_by_url(soho, shop):
    for name in ("orders_order_change", "orders_order_history", "orders_order_reply"):
        assert soho.get(reverse(f"admin:{name}", args=[shop.harbour_sale.pk])).status_code == 404
    assert (
        soho.get(reverse("admin:orders_order_change", args=[shop.soho_sale.pk])).status_code == 200
    )


def test_search_and_exports_stay_in_scope(soho, shop):
    by_number = soho.get(ORDERS, {"q": shop.harbour_sale.number})
    by_email = soho.get(ORDERS, {"q": "ada@example.com"})
    export = soho.post(
        ORDERS,
        {
            "action": "export_csv",
            "_selected_action": [shop.harbour_sale.pk, shop.soho_sale.pk, shop.web_order.pk],
        },
    )

    assert numbers(by_number) == set()
    assert numbers(by_email) == {shop.soho_pickup.number}
    rows = export.content.decode().strip().splitlines()
    assert [row.split(",")[0] for row in rows[1:]] == [shop.soho_sale.number]


def test_filters_offer_only_channels_and_warehouses_in_scope(soho, shop):
    stock = soho.get("/admin/inventory/stocklevel/")

    html = stock.content.decode()
    assert "Soho store" in html
    assert "Harbour store" not in html and "Main warehouse" not in html
    assert {level.warehouse.code for level in stock.context["cl"].result_list} == {"soho"}


def test_developer_tables_do_not_exist_for_scoped_staff(client, shop, staff):
    client.force_login(staff["support"])  # every channel, but not an owner

    for path in (
        "/admin/channels_api/apikey/",
        "/admin/outbox/webhookendpoint/",
        "/admin/audit/auditentry/",
    ):
        assert client.get(path).status_code == 403, path
    home = client.get("/admin/").content.decode()
    assert "API keys" not in home and "Webhook endpoints" not in home


def test_a_store_manager_cannot_count_stock_in_another_store(soho, shop):
    from inventory.models import StockLevel

    response = soho.post(
        reverse("admin:inventory_stocklevel_set"),
        {
            "sku": "TEE",
            "warehouse": shop.harbour.pk,
            "mode": "count",
            "quantity": "0",
            "kind": "receipt",
        },
    )

    assert response.status_code == 200
    assert "warehouse" in response.context["form"].errors
    assert StockLevel.objects.get(variant__sku="TEE", warehouse=shop.harbour).on_hand == 10


def test_a_picker_sees_their_shipments_and_no_orders(client, shop, staff):
    client.force_login(staff["picker"])

    shipments = client.get("/admin/fulfillment/fulfillment/")

    assert {f.warehouse.code for f in shipments.context["cl"].result_list} == {"main"}
    assert client.get(ORDERS).status_code == 403


def test_staff_without_a_scope_see_no_order(client, shop, staff):
    client.force_login(staff["no_scope"])

    assert numbers(client.get(ORDERS)) == set()


def test_the_home_page_counts_only_what_the_viewer_may_see(client, soho, shop, staff):
    soho_home = soho.get("/admin/")
    client.force_login(staff["owner"])
    owner_home = client.get("/admin/")

    assert soho_home.status_code == owner_home.status_code == 200
    soho_cards = {card.title: card.count for card in soho_home.context["dashboard"]["cards"]}
    owner_cards = {card.title: card.count for card in owner_home.context["dashboard"]["cards"]}
    assert owner_cards["To pack"] == 2  # the web order from main, the Soho pickup
    assert soho_cards["To pack"] == 1
    assert "Failing webhook endpoints" not in soho_cards


def test_every_home_card_links_to_the_list_of_what_it_counts(client, shop, staff):
    from django.utils import timezone

    from backoffice.outbox.models import WebhookEndpoint
    from catalog.models import ProductVariant
    from pos.models import PosSale

    WebhookEndpoint.objects.create(url="https://hooks.example/down", consecutive_failures=3)
    WebhookEndpoint.objects.create(  # turned off by staff, not failing
        url="https://hooks.example/off", active=False, disabled_at=timezone.now()
    )
    PosSale.objects.create(
        channel=shop.till_soho, client_id="till-7", store=shop.soho, status="flagged"
    )
    ProductVariant.objects.filter(sku="TEE").update(low_stock_threshold=100)
    client.force_login(staff["owner"])

    home = client.get("/admin/").context["dashboard"]
    counted = {card.title: card.count for card in home["cards"]}
    listed = {card.title: client.get(card.url).context["cl"].result_count for card in home["cards"]}

    assert counted == listed
    assert counted["Failing webhook endpoints"] == 1
    assert counted["Till sales to check"] == 1
    assert counted["To pack"] == 2
    assert counted["Low stock"] == 3  # TEE in each warehouse
    today = client.get(home["sales"]["all_url"]).context["cl"].result_count
    assert today == sum(row["orders"] for row in home["sales"]["rows"]) > 0
