"""Fulfillments and returns through the admin API: stock, order status, events, errors."""

from __future__ import annotations

import pytest
from django.core import mail

from backoffice.outbox.models import OutboxEvent
from fulfillment.models import Fulfillment, Notification
from fulfillment.notifications import notification_send
from fulfillment.services import fulfillments_plan
from inventory.models import Allocation, StockLevel, StockMovement
from orders.models import Order
from tests.channels_api.test_auth_and_errors import assert_problem
from tests.factories import SHIPPING_ADDRESS

pytestmark = pytest.mark.django_db

ORDERS = "/api/v1/admin/orders"
FULFILLMENTS = "/api/v1/admin/fulfillments"


def place(web_api, token: str | None = "tok_approve", tee=3, mug=1) -> Order:  # noqa: S107
    lines = [{"sku": "TEE", "quantity": tee}] + ([{"sku": "MUG", "quantity": mug}] if mug else [])
    payload = {"lines": lines, "email": "ada@example.com", "shipping_address": SHIPPING_ADDRESS}
    if token:
        payload["payment"] = {"provider": "test", "token": token}
    response = web_api.post("/api/v1/store/checkout", payload)
    assert response.status_code == 201, response.json()
    return Order.objects.get(pk=int(response.json()["id"]))


def tee_stock() -> tuple[int, int]:
    level = StockLevel.objects.get(variant__sku="TEE")
    return level.on_hand, level.allocated


def create(admin_api, order, body=None):
    return admin_api.post(f"{ORDERS}/{order.pk}/fulfillments", body or {})


def test_full_lifecycle_ships_stock_and_completes_the_order(web_api, admin_api, shop):
    order = place(web_api)
    created = create(admin_api, order)
    assert created.status_code == 201, created.json()
    [fulfillment] = created.json()["results"]
    assert fulfillment["warehouse"] == "main"
    assert fulfillment["lines"] == [{"sku": "TEE", "quantity": 3}, {"sku": "MUG", "quantity": 1}]
    url = f"{FULFILLMENTS}/{fulfillment['id']}"

    assert admin_api.post(f"{url}/pack").json()["status"] == "packed"
    shipped = admin_api.post(
        f"{url}/ship",
        {
            "carrier": "DHL",
            "tracking_number": "JD0001",
            "tracking_url": "https://track.example/JD0001",
        },
    )
    assert shipped.json()["status"] == "shipped"
    assert tee_stock() == (7, 0)
    assert (
        StockMovement.objects.filter(
            reason="sale", reference=f"fulfillment:{fulfillment['id']}"
        ).count()
        == 2
    )
    order.refresh_from_db()
    assert (order.status, order.fulfillment_status) == ("confirmed", "fulfilled")

    assert admin_api.post(f"{url}/deliver").json()["status"] == "delivered"
    order.refresh_from_db()
    assert order.status == "completed"
    store_view = web_api.get(f"/api/v1/store/orders/{order.token}").json()
    assert [step["type"] for step in store_view["timeline"]] == [
        "placed",
        "paid",
        "confirmed",
        "packed",
        "shipped",
        "delivered",
        "completed",
    ]
    assert store_view["tracking"][0]["tracking_url"] == "https://track.example/JD0001"
    types = list(
        OutboxEvent.objects.filter(aggregate=order.holder)
        .order_by("sequence")
        .values_list("type", flat=True)
    )
    assert types == [
        "order.created",
        "order.confirmed",
        "fulfillment.created",
        "fulfillment.shipped",
        "fulfillment.delivered",
        "order.completed",
    ]


def test_partial_fulfillment_then_the_rest(web_api, admin_api, shop):
    order = place(web_api)
    first = create(
        admin_api, order, {"warehouse": "main", "lines": [{"sku": "TEE", "quantity": 2}]}
    )
    [part] = first.json()["results"]
    admin_api.post(f"{FULFILLMENTS}/{part['id']}/ship", {"carrier": "UPS", "tracking_number": "1"})
    order.refresh_from_db()
    assert order.fulfillment_status == "partially_fulfilled"
    assert tee_stock() == (8, 1)
    rest = create(admin_api, order).json()["results"]
    assert rest[0]["lines"] == [{"sku": "TEE", "quantity": 1}, {"sku": "MUG", "quantity": 1}]
    assert_problem(create(admin_api, order), 409, "nothing_to_fulfill")


@pytest.mark.parametrize(
    "body,field",
    [
        ({"lines": [{"sku": "TEE", "quantity": 4}]}, "lines"),
        ({"lines": [{"sku": "NOPE", "quantity": 1}]}, "lines"),
        ({"warehouse": "nowhere"}, "warehouse"),
    ],
)
def test_bad_fulfillment_requests_are_400_and_create_nothing(web_api, admin_api, shop, body, field):
    order = place(web_api)
    assert field in assert_problem(create(admin_api, order, body), 400, "invalid")["errors"]
    assert not Fulfillment.objects.exists()


def test_units_must_be_allocated_in_the_chosen_warehouse(web_api, admin_api, shop, web):
    from tests.factories import make_warehouse

    make_warehouse("empty", channels=[web])
    order = place(web_api)
    body = assert_problem(create(admin_api, order, {"warehouse": "empty"}), 400, "invalid")
    assert "not allocated in empty" in body["errors"]["warehouse"][0]


def test_forbidden_fulfillment_transitions_are_409_and_change_nothing(web_api, admin_api, shop):
    order = place(web_api)
    [fulfillment] = create(admin_api, order).json()["results"]
    url = f"{FULFILLMENTS}/{fulfillment['id']}"
    assert_problem(admin_api.post(f"{url}/deliver"), 409, "invalid_transition")
    admin_api.post(f"{url}/ship", {"carrier": "DHL", "tracking_number": "1"})
    for action in ("pack", "cancel"):
        assert_problem(admin_api.post(f"{url}/{action}"), 409, "invalid_transition")
    assert_problem(
        admin_api.post(f"{url}/ship", {"carrier": "DHL", "tracking_number": "2"}),
        409,
        "invalid_transition",
    )
    assert tee_stock() == (7, 0)
    assert_problem(admin_api.post(f"{ORDERS}/{order.pk}/cancel"), 409, "invalid_transition")
    assert_problem(admin_api.post(f"{url}/ship", {"carrier": "DHL"}), 400, "invalid")
    assert_problem(admin_api.get(f"{FULFILLMENTS}/999999"), 404, "not_found")


def test_cancelled_fulfillment_keeps_units_allocated_and_can_be_replanned(web_api, admin_api, shop):
    order = place(web_api)
    [fulfillment] = create(admin_api, order).json()["results"]
    assert admin_api.post(f"{FULFILLMENTS}/{fulfillment['id']}/cancel").json()["status"] == (
        "cancelled"
    )
    assert tee_stock() == (10, 3)
    assert create(admin_api, order).status_code == 201


def test_a_cancelled_order_cannot_ship_its_planned_fulfillment(web_api, admin_api, shop):
    order = place(web_api)
    [fulfillment] = create(admin_api, order).json()["results"]
    admin_api.post(f"{ORDERS}/{order.pk}/cancel")
    response = admin_api.post(
        f"{FULFILLMENTS}/{fulfillment['id']}/ship", {"carrier": "DHL", "tracking_number": "1"}
    )
    assert_problem(response, 409, "invalid_transition")
    assert tee_stock() == (10, 0)
    assert not Allocation.objects.exists()


def test_cash_on_delivery_ships_unpaid_and_completes_after_capture(web_api, admin_api, shop):
    order = place(web_api, token=None)
    [fulfillment] = create(admin_api, order).json()["results"]
    url = f"{FULFILLMENTS}/{fulfillment['id']}"
    admin_api.post(f"{url}/ship", {"carrier": "Courier", "tracking_number": "C1"})
    admin_api.post(f"{url}/deliver")
    order.refresh_from_db()
    assert (order.status, order.payment_status) == ("pending", "unpaid")
    admin_api.post(f"{ORDERS}/{order.pk}/capture", {"method": "cash"})
    order.refresh_from_db()
    assert (order.status, order.payment_status) == ("completed", "paid")


def test_planner_makes_one_plan_per_warehouse_once(web_api, shop):
    order = place(web_api)
    assert len(fulfillments_plan(order=order)) == 1
    assert fulfillments_plan(order=order) == []
    assert Fulfillment.objects.count() == 1
    unpaid = place(web_api, token=None, tee=1, mug=0)
    assert fulfillments_plan(order=unpaid) == []


def test_return_restocks_refunds_and_records_the_event(web_api, admin_api, shop):
    order = place(web_api)  # 3 x 19.99 + 8.50 = 68.47
    [fulfillment] = create(admin_api, order).json()["results"]
    admin_api.post(
        f"{FULFILLMENTS}/{fulfillment['id']}/ship", {"carrier": "DHL", "tracking_number": "1"}
    )
    response = admin_api.post(
        f"{ORDERS}/{order.pk}/returns",
        {"lines": [{"sku": "TEE", "quantity": 2}], "reason": "Too small", "restock": True},
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["refund"] == {"amount": "39.98", "currency": "USD"}
    assert body["warehouse"] == "main"
    assert tee_stock() == (9, 0)
    assert StockMovement.objects.filter(reason="return").get().delta == 2
    order.refresh_from_db()
    assert order.payment_status == "partially_refunded"
    assert OutboxEvent.objects.filter(type="return.created").count() == 1
    too_many = admin_api.post(
        f"{ORDERS}/{order.pk}/returns",
        {"lines": [{"sku": "TEE", "quantity": 2}], "reason": "again"},
    )
    assert_problem(too_many, 400, "invalid")
    assert tee_stock() == (9, 0)
    no_restock = admin_api.post(
        f"{ORDERS}/{order.pk}/returns",
        {
            "lines": [{"sku": "TEE", "quantity": 1}, {"sku": "MUG", "quantity": 1}],
            "reason": "Broken",
            "restock": False,
        },
    )
    assert no_restock.json()["refund"]["amount"] == "28.49"
    order.refresh_from_db()
    assert (order.fulfillment_status, order.payment_status) == ("returned", "refunded")
    assert tee_stock() == (9, 0)


def test_an_unshipped_order_cannot_be_returned(web_api, admin_api, shop):
    order = place(web_api)
    response = admin_api.post(
        f"{ORDERS}/{order.pk}/returns", {"lines": [{"sku": "TEE", "quantity": 1}], "reason": "x"}
    )
    assert_problem(response, 409, "invalid_transition")


def test_customer_emails_are_sent_once_per_step(web_api, shop):
    order = place(web_api)
    assert notification_send(order_id=order.pk, kind="placed") is True
    assert notification_send(order_id=order.pk, kind="placed") is False
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["ada@example.com"]
    assert order.number in mail.outbox[0].subject
    assert Notification.objects.get().sent_at is not None


def test_admin_order_detail_lists_fulfillments(web_api, admin_api, shop):
    order = place(web_api)
    create(admin_api, order)
    body = admin_api.get(f"{ORDERS}/{order.pk}").json()
    assert [f["status"] for f in body["fulfillments"]] == ["pending"]


def test_a_failed_email_is_sent_on_the_retry_and_a_claimed_one_is_left_alone(
    web_api, shop, settings
):
    from datetime import timedelta

    from django.utils import timezone

    order = place(web_api)
    settings.EMAIL_BACKEND = "tests.fulfillment.failing_mail.Backend"
    with pytest.raises(ConnectionRefusedError):
        notification_send(order_id=order.pk, kind="shipped", reference="1")
    assert Notification.objects.get(kind="shipped").claimed_until is None  # freed for a retry

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    Notification.objects.filter(kind="shipped").update(
        claimed_until=timezone.now() + timedelta(minutes=1)  # another worker is sending it
    )
    assert notification_send(order_id=order.pk, kind="shipped", reference="1") is False
    Notification.objects.filter(kind="shipped").update(claimed_until=None)
    assert notification_send(order_id=order.pk, kind="shipped", reference="1") is True
    assert [m.subject for m in mail.outbox] == [f"Your order #{order.number} is on its way"]
    assert Notification.objects.get(kind="shipped").sent_at is not None
