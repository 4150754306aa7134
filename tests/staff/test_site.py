"""The admin as a whole: Backoffice branding, "View site", readable names, roles."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import Group

from fulfillment.models import Fulfillment
from inventory.models import StockLevel, StockMovement, WarehouseChannel
from orders.models import OrderEvent, OrderLine, Payment, ShippingMethod
from staff.roles import ROLES

pytestmark = pytest.mark.django_db


def test_the_header_says_backoffice_and_view_site_is_hidden_for_owners(client, staff):
    client.force_login(staff["owner"])

    html = client.get("/admin/").content.decode()

    assert "Django administration" not in html
    assert '<div id="site-name"><a href="/admin/">Backoffice</a></div>' in html
    assert "View site" not in html


def test_view_site_points_to_the_storefront_of_a_one_channel_staff_member(client, staff):
    client.force_login(staff["web_support"])

    html = client.get("/admin/").content.decode()

    assert '<a href="https://shop.example.com">View site</a>' in html


def test_every_object_has_a_readable_name(shop):
    level = StockLevel.objects.select_related("variant", "warehouse").filter(warehouse=shop.main)
    names = [
        str(shop.web),
        str(shop.main),
        str(level.first()),
        str(StockMovement.objects.select_related("stock_level").first()),
        str(WarehouseChannel.objects.first()),
        str(ShippingMethod.objects.first()),
        str(shop.web_order),
        str(OrderLine.objects.first()),
        str(Payment.objects.first()),
        str(OrderEvent.objects.first()),
        str(Fulfillment.objects.first()),
    ]

    for name in names:
        assert not re.search(r"object \(\d+\)|\d+@\d+|^\d+$", name), name
    assert str(level.first()).endswith("in Main warehouse")
    assert str(Payment.objects.first()) == "Test payment of $24.98 (captured)"
    assert str(shop.web_order) == f"Order #{shop.web_order.number}"


def test_roles_are_groups_kept_in_step_after_migrate(db):
    owner = Group.objects.get(name="Owner")
    picker = Group.objects.get(name="Warehouse picker")

    assert set(ROLES) <= set(Group.objects.values_list("name", flat=True))
    assert owner.permissions.filter(codename="refund_order").exists()
    assert set(picker.permissions.values_list("codename", flat=True)) >= {
        "view_fulfillment",
        "change_fulfillment",
    }
    assert not picker.permissions.filter(codename__in=["view_order", "refund_order"]).exists()
