"""The Django admin pages of the channel features: links with QR codes, flagged POS sales,
staff messages and courier tokens."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User

from orders.models import FulfillerAccess, OrderMessage, ShopLink
from pos.models import PosSale
from tests.factories import SHIPPING_ADDRESS

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client):
    user = User.objects.create_superuser("boss", "boss@example.com", "pw-long-enough-123")
    client.force_login(user)
    return client


def test_staff_download_a_links_qr_code_from_the_admin(staff_client, keys):
    keys["admin"].post("/api/v1/admin/links", {"channel": "instagram", "lines": [{"sku": "TEE"}]})
    link = ShopLink.objects.get()

    listing = staff_client.get("/admin/orders/shoplink/")
    qr = staff_client.get(f"/admin/orders/shoplink/{link.pk}/qr/")

    assert listing.status_code == 200
    assert f"/admin/orders/shoplink/{link.pk}/qr/" in listing.content.decode()
    assert qr.status_code == 200 and qr["Content-Type"] == "image/svg+xml"


def test_staff_filter_flagged_pos_sales(staff_client, keys):
    cash = {"provider": "manual", "method": "cash"}
    keys["pos"].post(
        "/api/v1/store/pos/sales/bulk",
        {
            "sales": [
                {"client_id": "a", "lines": [{"sku": "MUG", "quantity": 1}], "payment": cash},
                {"client_id": "b", "lines": [{"sku": "MUG", "quantity": 9}], "payment": cash},
            ]
        },
    )

    page = staff_client.get("/admin/pos/possale/?status__exact=flagged")

    assert page.status_code == 200
    assert page.context["cl"].result_count == 1
    assert [sale.client_id for sale in page.context["cl"].result_list] == ["b"]
    assert PosSale.objects.filter(status="recorded").count() == 1


def test_staff_post_a_message_in_the_admin_as_staff(staff_client, keys):
    order = (
        keys["web"]
        .post(
            "/api/v1/store/checkout",
            {"lines": [{"sku": "MUG", "quantity": 1}], "shipping_address": SHIPPING_ADDRESS},
        )
        .json()
    )

    response = staff_client.post(
        "/admin/orders/ordermessage/add/",
        {"order": order["id"], "body": "Your parcel left today.", "attachments": ""},
    )

    assert response.status_code == 302
    message = OrderMessage.objects.get()
    assert (message.author_role, message.author_name, message.author_ref) == (
        "staff", "boss", "staff:boss",
    )  # fmt: skip


def test_staff_create_a_courier_token_shown_once(staff_client, keys):
    order = (
        keys["web"]
        .post(
            "/api/v1/store/checkout",
            {"lines": [{"sku": "MUG", "quantity": 1}], "shipping_address": SHIPPING_ADDRESS},
        )
        .json()
    )

    response = staff_client.post(
        "/admin/orders/fulfilleraccess/add/",
        {
            "name": "Sam",
            "orders": order["id"],
            "expires_at_0": "2099-01-01",
            "expires_at_1": "00:00:00",
            "hours_after_completion": "48",
        },
        follow=True,
    )

    access = FulfillerAccess.objects.get()
    shown = [str(m) for m in response.context["messages"]]
    assert any("ft_" in text for text in shown)
    assert list(access.orders.values_list("pk", flat=True)) == [int(order["id"])]
