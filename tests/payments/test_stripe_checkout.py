"""A Stripe checkout end to end over the API: the order waits in `pending_payment`, holding its
stock, until the PSP's signed webhook or the client's confirm (verified with the PSP) settles it,
once; a PSP that stalls leaves nothing; an unpaid window expires and gives the stock back.

localstripe stands in for Stripe; the customer's card confirmation is made against it as
Stripe.js would, and the webhook Stripe would send is built from the PaymentIntent read back
from it and signed with the endpoint secret (tests/payments/stripe_helpers.py)."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from backoffice.outbox.models import OutboxEvent
from inventory.models import Allocation, Reservation, StockLevel
from orders.models import Order, OrderEvent, Payment, PaymentEvent
from orders.services import payments_reconcile
from tests.channels_api.test_auth_and_errors import assert_problem
from tests.payments.stripe_helpers import (
    WEBHOOK_SECRET,
    customer_is_declined,
    customer_pays,
    intent,
    sign,
    signed_event,
    stalling_server,
    stripe_client,
)

pytestmark = pytest.mark.django_db

CHECKOUT = "/api/v1/store/checkout"
WEBHOOK = "/api/v1/payments/stripe/webhook"
ADDRESS = {
    "name": "Ada Lovelace",
    "line1": "1 Analytical St",
    "city": "London",
    "postal_code": "N1 1AA",
    "country": "GB",
}
BODY = {
    "lines": [{"sku": "TEE", "quantity": 2}],
    "email": "ada@example.com",
    "shipping_address": ADDRESS,
    "shipping_method": "standard",
    "payment": {"provider": "stripe"},
}


def stock(variant) -> tuple[int, int]:
    level = StockLevel.objects.get(variant=variant)
    return level.on_hand, level.allocated


def events(order_id: str) -> list[str]:
    return sorted(
        OutboxEvent.objects.filter(aggregate=f"order:{order_id}").values_list("type", flat=True)
    )


def place(web_api, **payment) -> dict:
    response = web_api.post(CHECKOUT, {**BODY, "payment": {"provider": "stripe", **payment}})
    assert response.status_code == 201, response.json()
    return response.json()


def deliver(api, event_type: str, intent_id: str, **options) -> tuple[int, dict]:
    body, signature = signed_event(event_type, intent(intent_id), **options)
    response = api.post(
        WEBHOOK, body, format=None, content_type="application/json", HTTP_STRIPE_SIGNATURE=signature
    )
    return response.status_code, response.json()


def intent_of(order: dict) -> str:
    return order["payment_session"]["client_secret"].split("_secret_")[0]


def test_a_stripe_checkout_waits_for_the_payment_holding_its_stock(stripe_on, web_api, shop):
    order = place(web_api)

    assert (order["status"], order["payment_status"]) == ("pending_payment", "unpaid")
    session = order["payment_session"]
    assert session["provider"] == "stripe" and session["status"] == "pending"
    assert session["amount"] == {"amount": "44.97", "currency": "USD"}
    due = timezone.datetime.fromisoformat(session["due_at"])
    assert timedelta(minutes=29) < due - timezone.now() <= timedelta(minutes=30)
    stored = intent(intent_of(order))
    assert (stored["amount"], stored["currency"], stored["status"]) == (
        4497,
        "usd",
        "requires_payment_method",
    )
    assert stored["metadata"]["channel"] == "web"
    # the stock is the order's (allocated), the checkout's hold is gone
    assert stock(shop["tee"]) == (10, 2)
    assert not Reservation.objects.exists()
    assert events(order["id"]) == ["order.created"]
    assert [t["type"] for t in order["timeline"]] == ["placed", "payment_pending"]


def test_the_webhook_confirms_the_order_once_and_the_late_confirm_changes_nothing(
    stripe_on, web_api, anonymous_api, shop
):
    order = place(web_api)
    customer_pays(intent_of(order))

    status, receipt = deliver(anonymous_api, "payment_intent.succeeded", intent_of(order))

    assert (status, receipt) == (200, {"received": True, "outcome": "paid"})
    placed = Order.objects.get(pk=order["id"])
    assert (placed.status, placed.payment_status, placed.payment_due_at) == (
        "confirmed",
        "paid",
        None,
    )
    payment = Payment.objects.get(order=placed)
    assert (payment.status, payment.captured_amount, payment.client_secret) == (
        "captured",
        placed.total,
        "",
    )
    assert events(order["id"]) == ["order.confirmed", "order.created", "order.paid"]
    # the customer's confirm arrives after: nothing more happens
    confirm = web_api.post(f"/api/v1/store/orders/{order['token']}/payment/confirm")
    assert confirm.status_code == 200 and confirm.json()["status"] == "confirmed"
    assert confirm.json()["payment_session"] is None
    assert events(order["id"]) == ["order.confirmed", "order.created", "order.paid"]
    assert stock(shop["tee"]) == (10, 2)


def test_the_clients_confirm_settles_it_when_the_webhook_is_late(
    stripe_on, web_api, anonymous_api, shop
):
    order = place(web_api)
    confirm = f"/api/v1/store/orders/{order['token']}/payment/confirm"
    # before the customer paid: the PSP says open, nothing changes
    early = web_api.post(confirm)
    assert early.status_code == 200 and early.json()["status"] == "pending_payment"

    customer_pays(intent_of(order))
    response = web_api.post(confirm)

    assert response.status_code == 200
    assert (response.json()["status"], response.json()["payment_status"]) == ("confirmed", "paid")
    status, receipt = deliver(anonymous_api, "payment_intent.succeeded", intent_of(order))
    assert (status, receipt["outcome"]) == (200, "unchanged")
    assert events(order["id"]) == ["order.confirmed", "order.created", "order.paid"]
    sources = list(
        PaymentEvent.objects.filter(order_id=order["id"]).values_list("source", "outcome")
    )
    assert sources == [("confirm", "unchanged"), ("confirm", "paid"), ("webhook", "unchanged")]


def test_the_same_event_delivered_twice_is_recorded_once(stripe_on, web_api, anonymous_api, shop):
    order = place(web_api)
    customer_pays(intent_of(order))

    first = deliver(anonymous_api, "payment_intent.succeeded", intent_of(order), event_id="evt_1")
    again = deliver(anonymous_api, "payment_intent.succeeded", intent_of(order), event_id="evt_1")

    assert [first[1]["outcome"], again[1]["outcome"]] == ["paid", "duplicate"]
    assert PaymentEvent.objects.filter(event_id="evt_1").count() == 1


@pytest.mark.parametrize(
    "tamper",
    ["wrong secret", "body changed", "no signature", "too old", "not json"],
)
def test_a_webhook_without_a_valid_signature_is_400_and_changes_nothing(
    stripe_on, web_api, anonymous_api, shop, tamper
):
    order = place(web_api)
    customer_pays(intent_of(order))
    obj = intent(intent_of(order))
    secret = "whsec_other" if tamper == "wrong secret" else WEBHOOK_SECRET
    body, signature = signed_event("payment_intent.succeeded", obj, secret=secret)
    headers = {"HTTP_STRIPE_SIGNATURE": signature}
    if tamper == "body changed":
        body = body.replace(b'"amount": 4497', b'"amount": 1')
    elif tamper == "no signature":
        headers = {}
    elif tamper == "too old":
        old = int(time.time()) - 3600
        headers = {"HTTP_STRIPE_SIGNATURE": sign(body, at=old)}
    elif tamper == "not json":  # correctly signed, but not an event
        body = b"not json"
        headers = {"HTTP_STRIPE_SIGNATURE": sign(body)}

    response = anonymous_api.post(
        WEBHOOK, body, format=None, content_type="application/json", **headers
    )

    assert_problem(response, 400, "invalid_signature")
    assert Order.objects.get(pk=order["id"]).status == "pending_payment"
    assert not PaymentEvent.objects.exists()
    assert events(order["id"]) == ["order.created"]


def test_a_webhook_for_an_intent_that_is_not_ours_is_acknowledged_and_ignored(
    stripe_on, web_api, anonymous_api, shop
):
    order = place(web_api)
    foreign = stripe_client().v1.payment_intents.create(params={"amount": 4497, "currency": "usd"})
    customer_pays(foreign.id)

    status, receipt = deliver(anonymous_api, "payment_intent.succeeded", foreign.id)

    assert (status, receipt["outcome"]) == (200, "ignored")
    assert Order.objects.get(pk=order["id"]).status == "pending_payment"
    assert not PaymentEvent.objects.exists()
    # an event type that says nothing about a session: acknowledged too
    body, signature = signed_event("customer.created", {"id": "cus_1", "object": "customer"})
    response = anonymous_api.post(
        WEBHOOK, body, format=None, content_type="application/json", HTTP_STRIPE_SIGNATURE=signature
    )
    assert response.json() == {"received": True, "outcome": "ignored"}


def test_a_gateway_that_never_answers_leaves_no_order_and_gives_the_stock_back(
    stripe_on, web_api, shop
):
    stripe_on.PAYMENT_GATEWAY_TIMEOUT_SECONDS = 1
    with stalling_server() as url:
        stripe_on.STRIPE_API_BASE = url
        response = web_api.post(CHECKOUT, BODY, HTTP_IDEMPOTENCY_KEY="stalled")

    assert_problem(response, 503, "payment_provider_unavailable")
    assert not Order.objects.exists()
    assert not Reservation.objects.exists()
    assert not Allocation.objects.exists()
    assert stock(shop["tee"]) == (10, 0)
    # not stored: a retry with the same key runs afresh (and succeeds once Stripe answers)
    stripe_on.STRIPE_API_BASE = stripe_client()._requestor.base_addresses["api"]
    retry = web_api.post(CHECKOUT, BODY, HTTP_IDEMPOTENCY_KEY="stalled")
    assert retry.status_code == 201 and retry.json()["status"] == "pending_payment"


def test_an_unpaid_order_expires_after_its_window_and_releases_its_stock(stripe_on, web_api, shop):
    order = place(web_api)
    Order.objects.filter(pk=order["id"]).update(payment_due_at=timezone.now())

    outcomes = payments_reconcile()

    assert outcomes == {"expired": 1}
    expired = Order.objects.get(pk=order["id"])
    assert (expired.status, expired.payment_status) == ("cancelled", "unpaid")
    assert Payment.objects.get(order=expired).status == "voided"
    assert intent(intent_of(order))["status"] == "canceled"  # it can no longer be paid
    assert stock(shop["tee"]) == (10, 0)
    assert events(order["id"]) == ["order.cancelled", "order.created"]
    timeline = list(expired.events.values_list("type", flat=True))
    assert timeline[-2:] == [OrderEvent.Type.PAYMENT_EXPIRED, OrderEvent.Type.CANCELLED]
    assert web_api.get(f"/api/v1/store/orders/{order['token']}").json()["status"] == "cancelled"
    # a second run finds nothing to do
    assert payments_reconcile() == {}


def test_reconciliation_confirms_an_order_whose_webhook_was_lost(stripe_on, web_api, shop):
    order = place(web_api)
    customer_pays(intent_of(order))
    Order.objects.filter(pk=order["id"]).update(payment_due_at=timezone.now())

    assert payments_reconcile() == {"paid": 1}

    placed = Order.objects.get(pk=order["id"])
    assert (placed.status, placed.payment_status) == ("confirmed", "paid")
    assert stock(shop["tee"]) == (10, 2)
    assert events(order["id"]) == ["order.confirmed", "order.created", "order.paid"]


def test_reconciliation_leaves_orders_inside_their_window_alone(stripe_on, web_api, shop):
    order = place(web_api)

    assert payments_reconcile() == {}
    assert Order.objects.get(pk=order["id"]).status == "pending_payment"
    assert intent(intent_of(order))["status"] == "requires_payment_method"


def test_a_declined_attempt_is_on_the_timeline_and_the_order_keeps_waiting(
    stripe_on, web_api, anonymous_api, shop
):
    order = place(web_api)
    customer_is_declined(intent_of(order))

    status, receipt = deliver(anonymous_api, "payment_intent.payment_failed", intent_of(order))

    assert (status, receipt["outcome"]) == (200, "attempt failed")
    view = web_api.get(f"/api/v1/store/orders/{order['token']}").json()
    assert view["status"] == "pending_payment"
    assert [t["type"] for t in view["timeline"]] == ["placed", "payment_pending", "payment_failed"]


def test_a_canceled_intent_expires_its_order(stripe_on, web_api, anonymous_api, shop):
    order = place(web_api)
    stripe_client().v1.payment_intents.cancel(intent_of(order))

    status, receipt = deliver(anonymous_api, "payment_intent.canceled", intent_of(order))

    assert (status, receipt["outcome"]) == (200, "expired")
    assert Order.objects.get(pk=order["id"]).status == "cancelled"
    assert stock(shop["tee"]) == (10, 0)


def test_a_cart_completes_into_a_pending_payment_order(stripe_on, web_api, anonymous_api, shop):
    cart = web_api.post(
        "/api/v1/store/carts", {"lines": [{"sku": "TEE", "quantity": 1}], "email": "a@b.co"}
    ).json()
    web_api.patch(
        f"/api/v1/store/carts/{cart['id']}",
        {"shipping_address": ADDRESS, "shipping_method": "standard"},
    )

    response = web_api.post(
        f"/api/v1/store/carts/{cart['id']}/complete", {"payment": {"provider": "stripe"}}
    )

    assert response.status_code == 201, response.json()
    order = response.json()
    assert order["status"] == "pending_payment"
    assert intent(intent_of(order))["amount"] == 2498  # 19.99 + 4.99 shipping
    assert not Reservation.objects.exists()  # the cart's holds became the order's
    assert stock(shop["tee"]) == (10, 1)
    again = web_api.post(
        f"/api/v1/store/carts/{cart['id']}/complete", {"payment": {"provider": "stripe"}}
    )
    assert again.status_code == 200 and again.json()["id"] == order["id"]
    customer_pays(intent_of(order))
    assert deliver(anonymous_api, "payment_intent.succeeded", intent_of(order))[1]["outcome"] == (
        "paid"
    )


def test_stripe_is_refused_where_no_key_is_set(settings, web_api, shop):
    settings.STRIPE_API_KEY = ""

    response = web_api.post(CHECKOUT, BODY)

    body = assert_problem(response, 400, "invalid")
    assert "payment.provider" in body["errors"]
    assert not Order.objects.exists()
    assert not Reservation.objects.exists()


def test_the_webhook_secret_must_be_set_to_accept_events(stripe_on, anonymous_api, web_api, shop):
    order = place(web_api)
    stripe_on.STRIPE_WEBHOOK_SECRET = ""

    body, signature = signed_event("payment_intent.succeeded", intent(intent_of(order)))
    response = anonymous_api.post(
        WEBHOOK, body, format=None, content_type="application/json", HTTP_STRIPE_SIGNATURE=signature
    )

    assert_problem(response, 400, "invalid_signature")
    assert WEBHOOK_SECRET  # the suite's secret exists; it is the setting that was removed


def test_a_refund_made_in_stripes_dashboard_reaches_the_books(
    stripe_on, web_api, anonymous_api, shop
):
    order = place(web_api)
    customer_pays(intent_of(order))
    deliver(anonymous_api, "payment_intent.succeeded", intent_of(order))
    stripe_client().v1.refunds.create(params={"payment_intent": intent_of(order), "amount": 1000})
    charge = intent(intent_of(order))["latest_charge"]

    body, signature = signed_event("charge.refunded", charge)
    response = anonymous_api.post(
        WEBHOOK, body, format=None, content_type="application/json", HTTP_STRIPE_SIGNATURE=signature
    )

    assert response.json()["outcome"] == "refunded at the provider"
    payment = Payment.objects.get()
    assert (payment.status, str(payment.refunded_amount)) == ("partially_refunded", "10.000")
    assert Order.objects.get().payment_status == "partially_refunded"
