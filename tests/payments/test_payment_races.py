"""Races between the PSP and the client, on real parallel connections: one order, one payment,
one capture, one `order.paid`; no gateway call while stock rows are locked; money moved once
when an answer is lost."""

from __future__ import annotations

import threading
from collections import Counter

import pytest
from django.db import transaction

from backoffice.outbox.models import OutboxEvent
from inventory.models import Reservation, StockLevel
from orders import services
from orders.errors import PaymentProviderUnavailable
from orders.models import Order, Payment, PaymentEvent, PaymentOperation
from orders.services import CheckoutInput
from orders.services.validation import LineRequest
from tests.factories import make_key
from tests.parallel import http_json, run_parallel
from tests.payments.stripe_helpers import (
    answer_dropping_proxy,
    customer_pays,
    intent,
    localstripe_base,
    post_webhook,
    refunds_of,
    signed_event,
    stalling_server,
)
from tests.payments.test_stripe_checkout import BODY, intent_of

pytestmark = pytest.mark.django_db(transaction=True)


def paid_events(order_id) -> Counter:
    return Counter(
        OutboxEvent.objects.filter(aggregate=f"order:{order_id}").values_list("type", flat=True)
    )


def test_20_webhook_deliveries_and_the_clients_confirm_at_once_confirm_one_order_once(
    stripe_on, live_server, shop
):
    key = make_key(shop["channel"])[1]
    status, order, _ = http_json("POST", f"{live_server.url}/api/v1/store/checkout", key, BODY)
    assert status == 201, order
    customer_pays(intent_of(order))
    # Stripe retries one event with the same id; 20 of its deliveries arrive with the client's
    body, signature = signed_event("payment_intent.succeeded", intent(intent_of(order)))
    webhook = f"{live_server.url}/api/v1/payments/stripe/webhook"
    confirm = f"{live_server.url}/api/v1/store/orders/{order['token']}/payment/confirm"

    results = run_parallel(
        21,
        lambda i: (
            http_json("POST", confirm, key)[:2]
            if i == 20
            else post_webhook(webhook, body, signature)
        ),
    )

    assert [status for status, _ in results] == [200] * 21, results
    webhooks = Counter(body["outcome"] for _, body in results[:20])
    assert results[20][1]["status"] == "confirmed"  # the client's answer: the order, confirmed
    # one delivery was recorded (it confirmed the order, or found the client had), 19 were
    # recognised as the same event; exactly one of the 21 reports confirmed the order
    assert webhooks in ({"paid": 1, "duplicate": 19}, {"unchanged": 1, "duplicate": 19}), webhooks
    assert PaymentEvent.objects.filter(outcome="paid").count() == 1
    assert Order.objects.count() == 1
    placed = Order.objects.get()
    assert (placed.status, placed.payment_status) == ("confirmed", "paid")
    payment = Payment.objects.get()
    assert (payment.status, payment.captured_amount) == ("captured", placed.total)
    assert not PaymentOperation.objects.exists()  # automatic capture: Stripe took it, once
    charge = intent(intent_of(order))["latest_charge"]
    assert (charge["amount"], charge["captured"], charge["amount_refunded"]) == (4497, True, 0)
    assert paid_events(placed.pk) == {"order.created": 1, "order.paid": 1, "order.confirmed": 1}
    assert PaymentEvent.objects.filter(source="webhook").count() == 1  # recorded once
    assert list(placed.events.values_list("type", flat=True)) == [
        "placed",
        "payment_pending",
        "paid",
        "confirmed",
    ]
    assert StockLevel.objects.get(variant=shop["tee"]).allocated == 2


def test_no_stock_row_is_locked_while_the_gateway_is_asked(stripe_on, live_server, shop):
    key = make_key(shop["channel"])[1]
    stripe_on.PAYMENT_GATEWAY_TIMEOUT_SECONDS = 5
    with stalling_server() as url:
        stripe_on.STRIPE_API_BASE = url
        answer = {}
        checkout = threading.Thread(
            target=lambda: answer.update(
                result=http_json("POST", f"{live_server.url}/api/v1/store/checkout", key, BODY)
            )
        )
        checkout.start()
        assert url.connected.wait(timeout=30)

        # While the gateway is being asked: the units are held (a reservation) ...
        assert Reservation.objects.get().quantity == 2
        # ... and no stock row is locked: another connection takes them without waiting.
        with transaction.atomic():
            levels = list(
                StockLevel.objects.select_for_update(nowait=True).filter(variant=shop["tee"])
            )
        assert len(levels) == 1
        checkout.join(timeout=60)

    status, body, _ = answer["result"]
    assert (status, body["code"]) == (503, "payment_provider_unavailable")
    assert not Reservation.objects.exists()
    assert not Order.objects.exists()


def test_a_gateway_call_inside_a_transaction_is_refused(stripe_on, shop):
    data = CheckoutInput(
        lines=[LineRequest(sku="TEE", quantity=1)],
        shipping_address=BODY["shipping_address"],
        shipping_method="standard",
        payment={"provider": "stripe"},
    )

    with pytest.raises(RuntimeError, match="inside a database transaction"), transaction.atomic():
        services.checkout_direct(channel=shop["channel"], data=data)

    assert not Order.objects.exists()
    assert not Reservation.objects.exists()


def place_paid(live_server, shop) -> tuple[str, dict]:
    key = make_key(shop["channel"])[1]
    status, order, _ = http_json("POST", f"{live_server.url}/api/v1/store/checkout", key, BODY)
    assert status == 201, order
    customer_pays(intent_of(order))
    body, signature = signed_event("payment_intent.succeeded", intent(intent_of(order)))
    assert (
        post_webhook(f"{live_server.url}/api/v1/payments/stripe/webhook", body, signature)[0] == 200
    )
    return key, order


def test_a_refund_retried_after_a_network_error_moves_the_money_once(
    stripe_on, live_server, shop, admin_api
):
    _, order = place_paid(live_server, shop)
    refund = f"/api/v1/admin/orders/{order['id']}/refund"

    with answer_dropping_proxy("/v1/refunds") as proxy:
        stripe_on.STRIPE_API_BASE = proxy["url"]
        first = admin_api.post(
            refund, {"amount": "10.00", "reason": "damaged"}, HTTP_IDEMPOTENCY_KEY="refund-1"
        )

        assert first.status_code == 503, first.json()
        assert first.json()["code"] == "payment_provider_unavailable"
        assert len(refunds_of(intent_of(order))) == 1  # it reached Stripe; the answer was lost
        operation = PaymentOperation.objects.get()
        assert (operation.status, operation.attempts) == ("pending", 1)
        assert Payment.objects.get().refunded_amount == 0

        retry = admin_api.post(
            refund, {"amount": "10.00", "reason": "damaged"}, HTTP_IDEMPOTENCY_KEY="refund-1"
        )

    assert retry.status_code == 200, retry.json()
    assert retry.json()["payment_status"] == "partially_refunded"
    refunds = refunds_of(intent_of(order))
    assert [r["amount"] for r in refunds] == [1000]  # once
    operation.refresh_from_db()
    assert (operation.status, operation.attempts, operation.reference) == (
        "succeeded",
        2,
        refunds[0]["id"],
    )
    assert Payment.objects.get().refunded_amount == 10
    assert paid_events(order["id"])["refund.created"] == 1


def test_reconciliation_finishes_a_refund_whose_answer_was_lost(stripe_on, live_server, shop):
    _, order = place_paid(live_server, shop)
    placed = Order.objects.get()

    with answer_dropping_proxy("/v1/refunds") as proxy:
        stripe_on.STRIPE_API_BASE = proxy["url"]
        with pytest.raises(PaymentProviderUnavailable):
            services.order_refund(order=placed, amount="4.97", reason="late")
    stripe_on.STRIPE_API_BASE = localstripe_base()
    PaymentOperation.objects.update(updated_at="2000-01-01T00:00:00Z")  # long unanswered

    assert services.payments_reconcile() == {"operation done": 1}

    assert [r["amount"] for r in refunds_of(intent_of(order))] == [497]
    assert Payment.objects.get().refunded_amount == placed.total - 40  # 44.97 - 4.97
    assert services.payments_reconcile() == {}
