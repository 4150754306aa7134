"""A day in the back office, in Chromium: log in, add a product, see a paid order on the home
page, ship it, refund a line, cancel an order, and a store manager kept to their store.

Each scenario saves screenshots under var/screenshots/ and checks the pages it visits with
axe-core (no serious or critical violation, every field labelled).
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from catalog.models import Product
from inventory.models import StockLevel
from orders.models import Order
from tests.browser.conftest import assert_accessible, log_in, shot
from tests.factories import make_key
from tests.shop_world import PASSWORD

pytestmark = pytest.mark.django_db(transaction=True)

ADDRESS = {
    "name": "Grace Hopper",
    "line1": "7 Harbour Road",
    "city": "Springfield",
    "postal_code": "12345",
    "country": "US",
}


def checkout(page: Page, shop, lines: list[tuple[str, int]]) -> dict:
    """A paid web order through the store API, as a storefront would place it."""
    key = make_key(shop.web)[1]
    response = page.request.post(
        "/api/v1/store/checkout",
        headers={"Authorization": f"Bearer {key}"},
        data={
            "lines": [{"sku": sku, "quantity": quantity} for sku, quantity in lines],
            "email": "grace@example.com",
            "shipping_method": "standard",
            "shipping_address": ADDRESS,
            "payment": {"provider": "test", "token": "tok_approve"},
        },
    )
    assert response.status == 201, response.text()
    return response.json()


def on_hand(sku: str, warehouse) -> int:
    return StockLevel.objects.get(variant__sku=sku, warehouse=warehouse).on_hand


def test_staff_log_in(page: Page, staff):
    page.goto("/admin/")
    expect(page).to_have_url(re.compile(r"/admin/login/"))
    expect(page.get_by_role("heading", name="Log in to Backoffice")).to_be_visible()
    assert_accessible(page)

    page.get_by_label("Username").fill("olive")
    page.get_by_label("Password").fill("not-the-password")
    page.get_by_role("button", name="Log in").click()
    expect(page.locator(".errornote")).to_contain_text("Please enter the correct username")
    shot(page, "01-login-refused")

    log_in(page, "olive", PASSWORD)

    expect(page.get_by_role("heading", level=1)).to_contain_text("Today")
    expect(page.get_by_role("navigation", name="Everything in the back office")).to_contain_text(
        "Products and stock"
    )
    assert page.title().endswith("| Backoffice")
    shot(page, "02-home")
    assert_accessible(page)


def test_create_a_product_with_two_variants_prices_and_stock_then_find_it_on_the_store_api(
    page: Page, shop, staff
):
    log_in(page, "olive", PASSWORD)
    page.goto("/admin/catalog/product/add/")
    assert_accessible(page)

    page.get_by_label("Name:", exact=True).fill("Linen Apron")
    expect(page.get_by_label("Slug")).to_have_value("linen-apron")  # follows the name
    page.get_by_label("Sell in Web store (USD)").check()
    page.get_by_label("Option 1:", exact=True).fill("Colour")
    page.get_by_label("Attribute 1 name").fill("material")
    page.get_by_label("Attribute 1 value").fill("linen")
    for row, (sku, colour, web_price, stock) in enumerate(
        [("APRON-OAT", "oat", "27.00", "8"), ("APRON-INK", "ink", "", "4")], start=1
    ):
        page.get_by_label(f"SKU of variant {row}").fill(sku)
        page.get_by_label(f"Option 1 of variant {row}").fill(colour)
        page.get_by_label(f"Base price (USD) of variant {row}").fill("29.00")
        page.get_by_label(f"Price in Web store (USD) of variant {row}").fill(web_price)
        page.get_by_label(f"Opening stock in Main warehouse of variant {row}").fill(stock)
    shot(page, "03-product-add")
    page.get_by_role("button", name="Save", exact=True).click()

    expect(page.locator(".messagelist")).to_contain_text("“Linen Apron” added")
    expect(page.get_by_text("8 on hand")).to_be_visible()
    shot(page, "04-product-saved")
    assert_accessible(page)
    assert Product.objects.filter(slug="linen-apron").exists()

    key = make_key(shop.web)[1]
    found = page.request.get(
        "/api/v1/store/products?search=apron", headers={"Authorization": f"Bearer {key}"}
    ).json()
    [product] = found["results"]
    assert product["attributes"] == {"material": "linen"}
    assert {
        v["sku"]: (v["price"]["amount"], v["available"], v["options"]) for v in product["variants"]
    } == {
        "APRON-OAT": ("27.00", 8, {"Colour": "oat"}),
        "APRON-INK": ("29.00", 4, {"Colour": "ink"}),
    }


def test_a_paid_order_appears_on_the_home_page(page: Page, shop, staff, no_broker):
    order = checkout(page, shop, [("TEE", 2)])
    log_in(page, "olive", PASSWORD)

    to_pack = page.locator(
        "section.card", has=page.get_by_role("heading", name=re.compile("To pack"))
    )
    expect(to_pack).to_contain_text(f"#{order['number']}")
    sales = page.locator("section.today-sales")
    expect(sales).to_contain_text("Web store")
    expect(sales).to_contain_text("$")
    shot(page, "05-home-with-a-paid-order")

    to_pack.get_by_role("link", name=f"#{order['number']}").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Fulfillment")
    expect(page.get_by_text("Grace Hopper")).to_be_visible()  # where it goes
    assert_accessible(page)


def test_ship_an_order_with_tracking_and_see_the_customers_timeline(
    page: Page, shop, staff, no_broker
):
    order = checkout(page, shop, [("TEE", 1)])
    log_in(page, "olive", PASSWORD)
    page.goto(f"/admin/orders/order/{order['id']}/change/")
    assert_accessible(page)

    page.get_by_role("link", name="Ship", exact=True).click()
    # A parcel needs a carrier and a tracking number: the browser asks before posting
    # (and the service refuses without them, tests/staff/test_order_pages.py).
    for field in ("Carrier", "Tracking number"):
        expect(page.get_by_label(field)).to_have_attribute("required", "")
    page.get_by_role("button", name="Ship").click()
    expect(page).to_have_url(re.compile(r"/ship/"))
    page.get_by_label("Carrier").fill("DHL")
    page.get_by_label("Tracking number").fill("JD014600003")
    page.get_by_label("Tracking link").fill("https://dhl.example/JD014600003")
    assert_accessible(page)
    shot(page, "06-ship-form")
    page.get_by_role("button", name="Ship").click()

    expect(page.locator(".messagelist")).to_contain_text("shipped")
    timeline = page.locator("ol.bo-timeline")
    expect(timeline).to_contain_text("Shipped")
    expect(timeline).to_contain_text("DHL JD014600003")
    shot(page, "07-order-shipped")

    customer = page.request.get(
        f"/api/v1/store/orders/{order['token']}",
        headers={"Authorization": f"Bearer {make_key(shop.web)[1]}"},
    ).json()
    assert [event["type"] for event in customer["timeline"]][-1] == "shipped"
    assert customer["tracking"][0]["tracking_number"] == "JD014600003"
    assert customer["fulfillment_status"] == "fulfilled"


def test_refund_one_line_and_see_stock_and_the_sales_report_change(
    page: Page, shop, staff, no_broker
):
    from fulfillment.services import fulfillment_ship

    order = checkout(page, shop, [("TEE", 1), ("MUG", 2)])
    for fulfillment in Order.objects.get(pk=order["id"]).fulfillments.all():
        fulfillment_ship(fulfillment=fulfillment, carrier="DHL", tracking_number="JD1")
    mugs_before = on_hand("MUG", shop.main)
    log_in(page, "olive", PASSWORD)
    page.goto("/admin/orders/salesreport/?group_by=channel")
    report_before = page.locator("table").last.inner_text()

    page.goto(f"/admin/orders/order/{order['id']}/change/")
    page.get_by_role("link", name="Refund").click()
    page.get_by_label("Units the customer sent back (a return)").check()
    page.get_by_label("Units of MUG (Mug) back").fill("2")
    page.get_by_label("Reason").fill("Arrived chipped")
    expect(page.get_by_label("Put returned units back in stock")).to_be_checked()
    assert_accessible(page)
    shot(page, "08-refund-a-line")
    page.get_by_role("button", name="Refund").click()

    expect(page.locator(".messagelist")).to_contain_text("refunded $17.00, units back in stock")
    expect(page.locator("ol.bo-timeline")).to_contain_text("2 x MUG (back in stock)")
    assert on_hand("MUG", shop.main) == mugs_before + 2
    page.goto("/admin/orders/salesreport/?group_by=channel")
    report_after = page.locator("table").last.inner_text()
    assert report_after != report_before
    assert "$17.00" in report_after  # the refund, in the refunds column
    shot(page, "09-sales-report-after-refund")
    assert_accessible(page)


def test_cancel_an_order_through_the_confirmation_page(page: Page, shop, staff, no_broker):
    held_before = StockLevel.objects.get(variant__sku="TEE", warehouse=shop.main).allocated
    order = checkout(page, shop, [("TEE", 3)])
    level = StockLevel.objects.get(variant__sku="TEE", warehouse=shop.main)
    assert level.allocated == held_before + 3
    log_in(page, "olive", PASSWORD)
    page.goto(f"/admin/orders/order/{order['id']}/change/")

    page.get_by_role("link", name="Cancel order").click()

    consequences = page.locator("ul.bo-consequences")
    expect(consequences).to_contain_text("3 x TEE released in Main warehouse")
    expect(consequences).to_contain_text("refunded to the test payment")
    expect(consequences).to_contain_text("planned shipment(s) cancelled")
    assert Order.objects.get(pk=order["id"]).status == "confirmed"  # nothing happened yet
    assert_accessible(page)
    shot(page, "10-cancel-confirmation")
    page.get_by_role("button", name="Yes, cancel the order").click()

    expect(page.locator(".messagelist")).to_contain_text("cancelled")
    expect(page.locator("h1 + p")).to_contain_text("Cancelled")
    level.refresh_from_db()
    assert level.allocated == held_before  # the three units are free to sell again
    assert Order.objects.get(pk=order["id"]).payment_status == "refunded"


def test_a_store_manager_cannot_open_another_stores_order_by_url(page: Page, shop, staff):
    log_in(page, "stella", PASSWORD)  # manages the Soho store

    response = page.goto(f"/admin/orders/order/{shop.harbour_sale.pk}/change/")

    assert response.status == 404
    expect(page.get_by_role("heading", level=1)).to_have_text("Not found")
    shot(page, "11-store-manager-other-store")
    assert_accessible(page)
    own = page.goto(f"/admin/orders/order/{shop.soho_sale.pk}/change/")
    assert own.status == 200
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Order #{shop.soho_sale.number}")
    page.goto("/admin/orders/order/")
    expect(page.locator("#result_list")).not_to_contain_text(shop.harbour_sale.number)
    expect(page.locator("#result_list")).to_contain_text(shop.soho_sale.number)
