"""Admin pages that were JSON boxes: a warehouse's address and a shop link's campaign."""

from __future__ import annotations

import pytest
from django.urls import reverse

from inventory.models import Warehouse
from orders.models import OrderLine, ShopLink

pytestmark = pytest.mark.django_db


def test_a_warehouse_address_is_fields_and_saving_goes_through_the_service(client, staff):
    client.force_login(staff["owner"])
    page = client.get(reverse("admin:inventory_warehouse_add"))
    assert 'name="address_city"' in page.content.decode()
    assert 'name="address"' not in page.content.decode()

    response = client.post(
        reverse("admin:inventory_warehouse_add"),
        {
            "code": "west",
            "name": "West depot",
            "kind": "warehouse",
            "active": "on",
            "address_line1": "9 Dock St",
            "address_city": "Bristol",
            "address_country": "GB",
            "warehousechannel_set-TOTAL_FORMS": "0",
            "warehousechannel_set-INITIAL_FORMS": "0",
        },
    )

    assert response.status_code == 302, response.context["adminform"].form.errors
    warehouse = Warehouse.objects.get(code="west")
    assert warehouse.address == {"line1": "9 Dock St", "city": "Bristol", "country": "GB"}
    duplicate = client.post(
        reverse("admin:inventory_warehouse_add"),
        {"code": "west", "name": "Again", "kind": "warehouse",
         "warehousechannel_set-TOTAL_FORMS": "0", "warehousechannel_set-INITIAL_FORMS": "0"},
    )  # fmt: skip
    assert duplicate.status_code == 200
    assert Warehouse.objects.filter(code__iexact="west").count() == 1


def test_a_shop_link_campaign_is_fields(client, shop, staff):
    client.force_login(staff["owner"])
    response = client.post(
        reverse("admin:orders_shoplink_add"),
        {
            "channel": shop.web.pk,
            "name": "Summer drop",
            "active": "on",
            "campaign_name": "summer-drop",
            "campaign_source": "instagram",
            "campaign_post": "",
            "lines-TOTAL_FORMS": "1",
            "lines-INITIAL_FORMS": "0",
            "lines-0-variant": OrderLine.objects.filter(order=shop.web_order).first().variant_id,
            "lines-0-quantity": "1",
            "lines-0-allotment": "0",
        },
    )

    assert response.status_code == 302, response.context["adminform"].form.errors
    link = ShopLink.objects.get(name="Summer drop")
    assert link.campaign == {"name": "summer-drop", "source": "instagram"}
