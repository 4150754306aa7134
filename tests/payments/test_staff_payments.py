"""Staff move a card payment's money through its provider, from the admin API and the Django
admin, and see what the PSP said on the order: reference, events, operations, amounts."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.urls import reverse

from orders.models import Order, Payment, PaymentOperation
from tests.payments.stripe_helpers import customer_pays, intent, refunds_of
from tests.payments.test_stripe_checkout import deliver, intent_of, place

pytestmark = pytest.mark.django_db


def test_staff_capture_part_of_an_authorization_through_stripe(
    stripe_on, web_api, anonymous_api, admin_api, shop
):
    order = place(web_api, capture="manual")
    customer_pays(intent_of(order))
    status, receipt = deliver(
        anonymous_api, "payment_intent.amount_capturable_updated", intent_of(order)
    )
    assert (status, receipt["outcome"]) == (200, "authorized")
    assert Order.objects.get(pk=order["id"]).payment_status == "authorized"

    response = admin_api.post(
        f"/api/v1/admin/orders/{order['id']}/capture",
        {"amount": "40.00"},
        HTTP_IDEMPOTENCY_KEY="capture-1",
    )

    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["status"], body["payment_status"]) == ("confirmed", "paid")
    [payment] = body["payments"]
    assert payment["reference"] == intent_of(order)
    assert payment["capture_method"] == "manual"
    assert (payment["amount"]["amount"], payment["captured"]["amount"]) == ("44.97", "40.00")
    assert [(o["kind"], o["status"], o["amount"]["amount"]) for o in payment["operations"]] == [
        ("capture", "succeeded", "40.00")
    ]
    assert [(e["source"], e["type"], e["outcome"]) for e in payment["events"]] == [
        ("webhook", "payment_intent.amount_capturable_updated", "authorized")
    ]
    charge = intent(intent_of(order))["latest_charge"]
    assert (charge["captured"], charge["amount"] - charge["amount_refunded"]) == (True, 4000)
    # the same request again: replayed, nothing captured twice
    again = admin_api.post(
        f"/api/v1/admin/orders/{order['id']}/capture",
        {"amount": "40.00"},
        HTTP_IDEMPOTENCY_KEY="capture-1",
    )
    assert again.status_code == 200 and again.headers["Idempotent-Replayed"] == "true"
    assert PaymentOperation.objects.count() == 1


def test_the_admins_refund_page_goes_through_stripe(
    stripe_on, web_api, anonymous_api, shop, client
):
    order = place(web_api)
    customer_pays(intent_of(order))
    deliver(anonymous_api, "payment_intent.succeeded", intent_of(order))
    client.force_login(User.objects.create_superuser("boss", "boss@example.com", "pw-long-1234"))

    response = client.post(
        reverse("admin:orders_order_refund", args=[order["id"]]),
        {"mode": "amount", "amount": "", "reason": "damaged in transit"},
    )

    assert response.status_code == 302, response.content.decode()[-2000:]
    assert [r["amount"] for r in refunds_of(intent_of(order))] == [4497]
    payment = Payment.objects.get()
    assert (payment.status, payment.refunded_amount) == ("refunded", payment.captured_amount)
    assert Order.objects.get().payment_status == "refunded"
    page = client.get(reverse("admin:orders_order_change", args=[order["id"]])).content.decode()
    assert intent_of(order) in page  # the PSP's reference
    assert "payment_intent.succeeded" in page  # what the PSP said
    assert "Refund $44.97" in page  # what it was asked, and that it succeeded
    assert "Succeeded" in page


def test_cancelling_a_paid_stripe_order_refunds_it_through_stripe(
    stripe_on, web_api, anonymous_api, admin_api, shop
):
    order = place(web_api)
    customer_pays(intent_of(order))
    deliver(anonymous_api, "payment_intent.succeeded", intent_of(order))

    response = admin_api.post(f"/api/v1/admin/orders/{order['id']}/cancel", {"reason": "oops"})

    assert response.status_code == 200, response.json()
    assert (response.json()["status"], response.json()["payment_status"]) == (
        "cancelled",
        "refunded",
    )
    assert [r["amount"] for r in refunds_of(intent_of(order))] == [4497]


def test_cancelling_an_order_waiting_for_its_payment_cancels_the_intent(
    stripe_on, web_api, admin_api, shop
):
    order = place(web_api)

    response = admin_api.post(f"/api/v1/admin/orders/{order['id']}/cancel", {"reason": "dupe"})

    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "cancelled"
    assert intent(intent_of(order))["status"] == "canceled"
    assert Payment.objects.get().status == "voided"
