"""The admin as a whole: Backoffice branding, "View site", readable names, roles."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import Group

from fulfillment.models import Fulfillment
from inventory.models import StockLevel, StockMovement, WarehouseChannel
from orders.models import OrderEvent, OrderLine, Payment, ShippingMethod
from staff.roles import ROLES
from tests.shop_world import ADDRESS

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


def test_no_admin_form_asks_for_json(client, shop, staff):
    """Addresses, options, attributes and the rest are fields; JSON is never typed by hand."""
    from django.contrib import admin
    from django.forms import JSONField
    from django.urls import reverse

    from orders.models import Cart

    cart = Cart.objects.create(channel=shop.web, email="ada@example.com", shipping_address=ADDRESS)
    client.force_login(staff["owner"])
    asking = []
    for model in admin.site._registry:
        info = f"admin:{model._meta.app_label}_{model._meta.model_name}"
        pages = [reverse(f"{info}_add")]
        first = model._default_manager.first()
        if first is not None:
            pages.append(reverse(f"{info}_change", args=[first.pk]))
        for page in pages:
            response = client.get(page)
            form = response.context and response.context.get("adminform")
            if response.status_code != 200 or not form:
                continue
            asking += [
                f"{page} {name}"
                for name, field in form.form.fields.items()
                if isinstance(field, JSONField)
            ]

    assert asking == []
    cart_page = client.get(reverse("admin:orders_cart_change", args=[cart.pk])).content.decode()
    assert "Ada Lovelace, 1 Main St, Springfield, 12345, US" in cart_page
