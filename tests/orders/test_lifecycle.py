"""The order lifecycle through the admin API: every allowed and forbidden transition."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from backoffice.outbox.models import OutboxEvent
from inventory.models import Allocation, StockLevel
from orders.models import Order, Payment, Voucher
from orders.services import order_complete, orders_cancel_stale_unpaid
from orders.services.setup import voucher_create
from orders.tasks import orders_cancel_stale_unpaid_task
from tests.channels_api.test_auth_and_errors import assert_problem
from tests.factories import SHIPPING_ADDRESS

pytestmark = pytest.mark.django_db

ORDERS = "/api/v1/admin/orders"


def place(web_api, token: str | None = None, quantity: int = 2, **extra) -> Order:
    payload = {"lines": [{"sku": "TEE", "quantity": quantity}], **extra}
    payload.setdefault("shipping_address", SHIPPING_ADDRESS)
    if token:
        payload["payment"] = {"provider": "test", "token": token}
    response = web_api.post("/api/v1/store/checkout", payload)
    assert response.status_code == 201, response.json()
    return Order.objects.get(pk=int(response.json()["id"]))


def act(admin_api, order: Order, action: str, body: dict | None = None):
    return admin_api.post(f"{ORDERS}/{order.pk}/{action}", body or {})


def snapshot(order: Order) -> tuple:
    order.refresh_from_db()
    payments = [(p.status, p.captured_amount, p.refunded_amount) for p in order.payments.all()]
    return (
        order.status,
        order.payment_status,
        order.fulfillment_status,
        payments,
        order.events.count(),
        StockLevel.objects.get(variant__sku="TEE").allocated,
    )


def test_capture_confirms_a_pending_order_with_a_manual_payment(web_api, admin_api, shop):
    order = place(web_api)
    body = act(admin_api, order, "capture", {"method": "bank_transfer"}).json()
    assert (body["status"], body["payment_status"]) == ("confirmed", "paid")
    assert body["payments"][0]["method"] == "bank_transfer"
    assert [e["type"] for e in body["events"]] == ["placed", "paid", "confirmed"]


def test_capture_takes_an_authorization(web_api, admin_api, shop):
    order = place(web_api, "tok_authorize")
    body = act(admin_api, order, "capture").json()
    assert body["payment_status"] == "paid"
    assert [p["status"] for p in body["payments"]] == ["captured"]


def test_capture_of_a_paid_order_is_an_invalid_transition(web_api, admin_api, shop):
    order = place(web_api, "tok_approve")
    before = snapshot(order)
    body = assert_problem(act(admin_api, order, "capture"), 409, "invalid_transition")
    assert body["current_status"] == "paid"
    assert snapshot(order) == before


def test_refund_partially_then_fully_never_beyond_captured(web_api, admin_api, shop):
    order = place(web_api, "tok_approve")  # 39.98
    part = act(admin_api, order, "refund", {"amount": "10.00", "reason": "damaged"}).json()
    assert part["payment_status"] == "partially_refunded"
    before = snapshot(order)
    too_much = act(admin_api, order, "refund", {"amount": "30.00"})
    body = assert_problem(too_much, 409, "refund_exceeds_captured")
    assert body["refundable"] == {"amount": "29.98", "currency": "USD"}
    assert body["detail"] == "At most $29.98 can be refunded."
    assert snapshot(order) == before
    rest = act(admin_api, order, "refund").json()
    assert rest["payment_status"] == "refunded"
    assert Payment.objects.get().refunded_amount == Payment.objects.get().captured_amount
    assert_problem(act(admin_api, order, "refund"), 409, "invalid_transition")
    assert OutboxEvent.objects.filter(type="refund.created").count() == 2


@pytest.mark.parametrize("amount", ["0", "-1", "1.234", 5.5])
def test_bad_refund_amounts_are_400(web_api, admin_api, shop, amount):
    order = place(web_api, "tok_approve")
    before = snapshot(order)
    assert_problem(act(admin_api, order, "refund", {"amount": amount}), 400, "invalid")
    assert snapshot(order) == before


def test_refund_of_an_unpaid_order_is_an_invalid_transition(web_api, admin_api, shop):
    order = place(web_api)
    assert_problem(act(admin_api, order, "refund"), 409, "invalid_transition")


def test_cancel_releases_stock_refunds_and_returns_the_voucher(web_api, admin_api, shop):
    voucher_create(code="ONE", kind="fixed", value="1.00", usage_limit=1)
    order = place(web_api, "tok_approve", voucher_code="ONE")
    assert Voucher.objects.get().used_count == 1

    body = act(admin_api, order, "cancel", {"reason": "customer asked"}).json()

    assert (body["status"], body["payment_status"]) == ("cancelled", "refunded")
    assert StockLevel.objects.get(variant__sku="TEE").allocated == 0
    assert not Allocation.objects.exists()
    assert Voucher.objects.get().used_count == 0
    assert [e["type"] for e in body["events"]][-2:] == ["cancelled", "refunded"]
    assert body["cancelled_at"] is not None
    assert OutboxEvent.objects.filter(type="order.cancelled").count() == 1


def test_cancel_voids_an_authorization(web_api, admin_api, shop):
    order = place(web_api, "tok_authorize")
    body = act(admin_api, order, "cancel").json()
    assert body["payment_status"] == "unpaid"
    assert [p["status"] for p in body["payments"]] == ["voided"]


@pytest.mark.parametrize("action", ["cancel", "capture", "refund"])
def test_nothing_is_allowed_on_a_cancelled_order(web_api, admin_api, shop, action):
    order = place(web_api, "tok_approve")
    act(admin_api, order, "cancel")
    before = snapshot(order)
    assert_problem(act(admin_api, order, action), 409, "invalid_transition")
    assert snapshot(order) == before


def test_cancel_after_something_shipped_is_refused(web_api, admin_api, shop):
    order = place(web_api, "tok_approve")
    Order.objects.filter(pk=order.pk).update(fulfillment_status="partially_fulfilled")
    before = snapshot(order)
    assert_problem(act(admin_api, order, "cancel"), 409, "invalid_transition")
    assert snapshot(order) == before


def test_completed_orders_can_only_be_refunded(web_api, admin_api, shop):
    order = place(web_api, "tok_approve")
    order_complete(order=order)
    for action in ("cancel", "capture"):
        assert_problem(act(admin_api, order, action), 409, "invalid_transition")
    assert act(admin_api, order, "refund").json()["payment_status"] == "refunded"


def test_pending_orders_cannot_complete(web_api, shop):
    from backoffice.exceptions import InvalidTransition

    order = place(web_api)
    with pytest.raises(InvalidTransition):
        order_complete(order=order)
    assert Order.objects.get().status == "pending"


def test_notes_are_added_to_the_timeline(web_api, admin_api, shop):
    order = place(web_api)
    body = admin_api.post(f"{ORDERS}/{order.pk}/notes", {"note": "Gift wrap"}).json()
    assert body["events"][-1]["type"] == "note_added"
    assert body["events"][-1]["data"] == {"note": "Gift wrap"}
    assert body["events"][-1]["actor"].startswith("api_key:sk_")
    assert_problem(admin_api.post(f"{ORDERS}/{order.pk}/notes", {"note": ""}), 400, "invalid")


def test_unknown_order_is_404(admin_api, shop):
    assert_problem(admin_api.get(f"{ORDERS}/999999"), 404, "not_found")
    assert_problem(admin_api.post(f"{ORDERS}/abc/cancel", {}), 404, "not_found")


def test_stale_unpaid_orders_are_cancelled_by_the_periodic_job(web_api, shop):
    channel = shop["channel"]
    channel.unpaid_order_timeout_minutes = 30
    channel.save()
    stale, fresh, paid = (
        place(web_api, quantity=1),
        place(web_api, quantity=1),
        place(web_api, "tok_approve", quantity=1),
    )
    Order.objects.filter(pk__in=[stale.pk, paid.pk]).update(
        created_at=timezone.now() - timedelta(minutes=31)
    )

    assert orders_cancel_stale_unpaid_task.run() == 1

    statuses = dict(Order.objects.values_list("pk", "status"))
    assert statuses == {stale.pk: "cancelled", fresh.pk: "pending", paid.pk: "confirmed"}
    assert StockLevel.objects.get(variant__sku="TEE").allocated == 2
    assert orders_cancel_stale_unpaid() == 0  # running again changes nothing


@pytest.mark.parametrize("final", ["cancelled", "completed"])
def test_closed_orders_cannot_ship_or_complete_again(web_api, admin_api, shop, final):
    from backoffice.exceptions import InvalidTransition

    order = place(web_api, "tok_approve")
    if final == "cancelled":
        act(admin_api, order, "cancel")
    else:
        order_complete(order=order)
    before = snapshot(order)

    assert_problem(act(admin_api, order, "fulfillments"), 409, "invalid_transition")
    with pytest.raises(InvalidTransition):
        order_complete(order=order)
    assert snapshot(order) == before
