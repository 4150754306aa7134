"""Keyboard and screen-reader basics on every kind of admin page: axe-core finds no serious or
critical violation, every form field has a label, and the main tasks work from the keyboard."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from fulfillment.models import Fulfillment
from inventory.models import StockLevel
from tests.browser.conftest import assert_accessible, log_in
from tests.shop_world import PASSWORD

pytestmark = pytest.mark.django_db(transaction=True)


def pages(shop) -> list[str]:
    order, fulfillment = shop.web_order, Fulfillment.objects.filter(order=shop.web_order).first()
    level = StockLevel.objects.filter(warehouse=shop.main).first()
    product = level.variant.product
    return [
        "/admin/",
        "/admin/orders/order/",
        f"/admin/orders/order/{order.pk}/change/",
        f"/admin/orders/order/{order.pk}/refund/",
        f"/admin/orders/order/{order.pk}/cancel/",
        f"/admin/orders/order/{order.pk}/fulfill/",
        f"/admin/orders/order/{order.pk}/address/",
        f"/admin/orders/order/{order.pk}/capture/",
        "/admin/fulfillment/fulfillment/",
        f"/admin/fulfillment/fulfillment/{fulfillment.pk}/change/",
        f"/admin/fulfillment/fulfillment/{fulfillment.pk}/ship/",
        "/admin/catalog/product/",
        "/admin/catalog/product/add/",
        f"/admin/catalog/product/{product.pk}/change/",
        "/admin/inventory/stocklevel/",
        f"/admin/inventory/stocklevel/{level.pk}/change/",
        "/admin/inventory/stocklevel/set/",
        "/admin/inventory/stocklevel/transfer/",
        f"/admin/inventory/stockmovement/?sku={level.variant.sku}",
        "/admin/orders/salesreport/",
        "/admin/pos/possale/",
        "/admin/catalog/channel/",
        "/admin/orders/shoplink/",
        "/admin/auth/user/",
    ]


def test_every_kind_of_page_passes_the_accessibility_check(page: Page, shop, staff):
    log_in(page, "olive", PASSWORD)
    failures = []
    for path in pages(shop):
        response = page.goto(path)
        assert response.status == 200, path
        try:
            assert_accessible(page)
        except AssertionError as problem:
            failures.append(str(problem))
    assert not failures, "\n".join(failures)


def test_stock_can_be_set_from_the_keyboard_alone(page: Page, shop, staff):
    log_in(page, "olive", PASSWORD)
    page.goto("/admin/inventory/stocklevel/set/")

    page.get_by_label("SKU").focus()
    page.keyboard.type("MUG")
    page.keyboard.press("Tab")  # the warehouse
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")  # Main warehouse, after Harbour store
    page.keyboard.press("Tab")  # the first choice of "What you are recording": a count
    page.keyboard.press("Tab")  # the quantity
    page.keyboard.type("42")
    page.keyboard.press("Enter")

    expect(page.locator(".messagelist")).to_contain_text("on hand now 42")
    assert StockLevel.objects.get(variant__sku="MUG", warehouse=shop.main).on_hand == 42
