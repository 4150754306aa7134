"""The order and fulfillment pages and their tasks, through the Django test client."""

from __future__ import annotations

import pytest
from django.core import mail
from django.urls import reverse

from fulfillment.models import Fulfillment
from inventory.models import StockLevel
from orders.models import Order, OrderLine, OrderMessage

pytestmark = pytest.mark.django_db


def page(name: str, obj) -> str:
    return reverse(f"admin:{name}", args=[obj.pk])


@pytest.fixture
def owner_client(client, staff):
    client.force_login(staff["owner"])
    return client


def test_the_order_page_shows_what_support_works_from(owner_client, shop):
    order = shop.web_order

    response = owner_client.get(page("orders_order_change", order))

    assert response.status_code == 200
    html = response.content.decode()
    for text in (
        f"Order #{order.number}",
        "$19.99",  # line price, to the cent
        "$24.98",  # total with shipping
        "Ada Lovelace",  # the address as fields
        "Springfield",
        "Fulfillment",
        "Main warehouse",
        "Timeline",
        "Reply to the customer",
    ):
        assert text in html, text
    assert "19.990" not in html
    for task in ("refund", "cancel"):
        assert page(f"orders_order_{task}", order) in html


def test_cancel_says_what_happens_to_stock_and_money_before_doing_it(owner_client, shop):
    order = shop.web_order
    url = page("orders_order_cancel", order)

    confirm = owner_client.get(url)

    html = confirm.content.decode()
    assert "1 x TEE released in Main warehouse" in html
    assert "$24.98 refunded to the test payment" in html
    assert "1 planned shipment(s) cancelled" in html
    assert Order.objects.get(pk=order.pk).status == "confirmed"  # nothing happened yet

    done = owner_client.post(url, {"reason": "customer asked"})

    assert done.status_code == 302
    order.refresh_from_db()
    assert (order.status, order.payment_status) == ("cancelled", "refunded")
    assert set(order.fulfillments.values_list("status", flat=True)) == {"cancelled"}
    level = StockLevel.objects.get(variant__sku="TEE", warehouse=shop.main)
    assert level.allocated == 0


def test_ship_needs_carrier_and_tracking_for_a_parcel_then_tells_the_customer(owner_client, shop):
    fulfillment = shop.web_order.fulfillments.get()
    url = page("fulfillment_fulfillment_ship", fulfillment)
    mail.outbox.clear()

    refused = owner_client.post(url, {"carrier": "", "tracking_number": ""})
    shipped = owner_client.post(
        url,
        {
            "carrier": "DHL",
            "tracking_number": "JD0146",
            "tracking_url": "https://dhl.example/JD0146",
        },
    )

    assert refused.status_code == 200
    assert set(refused.context["form"].errors) == {"carrier", "tracking_number"}
    assert shipped.status_code == 302
    fulfillment.refresh_from_db()
    assert (fulfillment.status, fulfillment.tracking_number) == ("shipped", "JD0146")
    order_page = owner_client.get(page("orders_order_change", shop.web_order)).content.decode()
    assert "DHL JD0146" in order_page


def test_refund_a_returned_line_restocks_it_and_refunds_its_price(owner_client, shop):
    from fulfillment.services import fulfillment_ship

    order = shop.web_order
    fulfillment_ship(fulfillment=order.fulfillments.get(), carrier="DHL", tracking_number="T1")
    before = StockLevel.objects.get(variant__sku="TEE", warehouse=shop.main).on_hand
    line = OrderLine.objects.get(order=order)

    response = owner_client.post(
        page("orders_order_refund", order),
        {"mode": "lines", f"line_{line.pk}": "1", "reason": "too small", "restock": "on"},
    )

    assert response.status_code == 302, response.context["form"].errors
    order.refresh_from_db()
    assert order.payment_status == "partially_refunded"
    assert StockLevel.objects.get(variant__sku="TEE", warehouse=shop.main).on_hand == before + 1
    assert order.returns.get().refund_amount == line.unit_price


def test_a_support_agent_cannot_refund_over_their_limit(client, shop, staff):
    client.force_login(staff["support"])  # up to $20.00
    order = shop.web_order
    url = page("orders_order_refund", order)

    over = client.post(url, {"mode": "amount", "amount": "24.98", "reason": "x"})
    within = client.post(url, {"mode": "amount", "amount": "10.00", "reason": "late"})

    assert over.status_code == 200
    assert "You may refund at most $20.00 at once; this is $24.98." in over.content.decode()
    assert within.status_code == 302
    order.refresh_from_db()
    assert order.payments.get().refunded_amount == 10


def test_reply_note_and_address_go_through_the_services(owner_client, shop):
    order = shop.soho_pickup

    owner_client.post(page("orders_order_reply", order), {"body": "Ready on Friday."})
    owner_client.post(page("orders_order_note", order), {"note": "Called the customer."})
    moved = owner_client.post(
        page("orders_order_address", order),
        {
            "name": "Ada L.",
            "line1": "2 High St",
            "city": "Soho",
            "postal_code": "W1",
            "country": "gb",
        },
    )

    assert moved.status_code == 302
    order.refresh_from_db()
    assert order.shipping_address["country"] == "GB"
    message = OrderMessage.objects.get(order=order)
    assert (message.author_role, message.author_ref) == ("staff", "staff:olive")
    assert list(order.events.values_list("type", flat=True))[-2:] == [
        "note_added",
        "address_changed",
    ]


def test_a_staff_message_takes_its_attachments_as_links_one_a_line(owner_client, shop):
    add = reverse("admin:orders_ordermessage_add")
    order = shop.web_order

    refused = owner_client.post(
        add, {"order": order.pk, "body": "Photo", "attachments": "ftp://files.example/a.png"}
    )
    posted = owner_client.post(
        add,
        {
            "order": order.pk,
            "body": "Photos of the parcel",
            "attachments": "https://files.example/a.png\n\n https://files.example/b.png \n",
        },
    )

    assert refused.status_code == 200
    assert refused.context["adminform"].form.errors["attachments"] == [
        "Each attachment is an https URL."
    ]
    assert posted.status_code == 302
    [message] = OrderMessage.objects.filter(order=order)
    assert message.author_role == "staff"
    assert message.attachments == ["https://files.example/a.png", "https://files.example/b.png"]


def test_the_fulfillment_page_says_where_it_goes(client, shop, staff):
    client.force_login(staff["picker"])
    fulfillment = shop.web_order.fulfillments.get()

    response = client.get(page("fulfillment_fulfillment_change", fulfillment))
    other = Fulfillment.objects.exclude(warehouse=shop.main).first()

    assert response.status_code == 200
    html = response.content.decode()
    assert "Where it goes" in html and "Ada Lovelace" in html and "1 Main St" in html
    assert client.get(page("fulfillment_fulfillment_change", other)).status_code == 404
