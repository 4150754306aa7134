"""One-shot checkout through HTTP: totals, payments, stock, errors, and what clients cannot set."""

from __future__ import annotations

import pytest

from backoffice.outbox.models import OutboxEvent
from inventory.models import Allocation, Reservation, StockLevel
from orders.models import Order, OrderEvent, Payment, Voucher
from orders.services.setup import voucher_create
from tests.channels_api.test_auth_and_errors import assert_problem

pytestmark = pytest.mark.django_db

CHECKOUT = "/api/v1/store/checkout"
ADDRESS = {
    "name": "Ada Lovelace",
    "line1": "1 Analytical St",
    "city": "London",
    "postal_code": "N1 1AA",
    "country": "gb",
}


def money(amount: str) -> dict:
    return {"amount": amount, "currency": "USD"}


def stock(variant) -> tuple[int, int]:
    level = StockLevel.objects.get(variant=variant)
    return level.on_hand, level.allocated


def nothing_placed(shop) -> None:
    assert not Order.objects.exists()
    assert not Allocation.objects.exists()
    assert not Reservation.objects.exists()
    assert stock(shop["tee"]) == (10, 0)
    assert not OutboxEvent.objects.filter(type__startswith="order.").exists()


def test_checkout_without_payment_waits_unpaid_and_allocates_stock(web_api, shop):
    response = web_api.post(
        CHECKOUT,
        {
            "lines": [{"sku": "TEE", "quantity": 2}, {"sku": "MUG", "quantity": 1}],
            "email": "ada@example.com",
            "shipping_address": ADDRESS,
            "shipping_method": "standard",
        },
    )

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["status"] == "pending"
    assert body["payment_status"] == "unpaid"
    assert body["fulfillment_status"] == "unfulfilled"
    assert body["subtotal"] == money("48.48")
    assert body["shipping"] == money("4.99")
    assert body["total"] == money("53.47")
    assert body["lines"] == [
        {
            "sku": "TEE",
            "name": "Tee",
            "quantity": 2,
            "unit_price": money("19.99"),
            "total": money("39.98"),
        },
        {
            "sku": "MUG",
            "name": "Mug",
            "quantity": 1,
            "unit_price": money("8.50"),
            "total": money("8.50"),
        },
    ]
    assert body["shipping_address"]["country"] == "GB"
    assert len(body["token"]) == 36 and body["number"].isdigit()
    assert stock(shop["tee"]) == (10, 2)
    order = Order.objects.get()
    assert list(order.events.values_list("type", flat=True)) == ["placed"]
    assert list(
        OutboxEvent.objects.filter(aggregate=order.holder).values_list("type", "sequence")
    ) == [("order.created", 1)]


def test_test_gateway_approval_pays_and_confirms(web_api, shop):
    body = web_api.post(
        CHECKOUT,
        {
            "lines": [{"sku": "TEE", "quantity": 1}],
            "shipping_address": ADDRESS,
            "payment": {"provider": "test", "token": "tok_approve"},
        },
    ).json()
    assert (body["status"], body["payment_status"]) == ("confirmed", "paid")
    payment = Payment.objects.get()
    assert (payment.status, payment.captured_amount) == ("captured", payment.amount)
    assert sorted(OutboxEvent.objects.values_list("type", flat=True)) == [
        "order.confirmed",
        "order.created",
    ]


def test_manual_payment_is_recorded_as_paid(web_api, shop):
    body = web_api.post(
        CHECKOUT,
        {
            "lines": [{"sku": "TEE", "quantity": 1}],
            "shipping_address": ADDRESS,
            "payment": {"provider": "manual", "method": "card_terminal"},
        },
    ).json()
    assert body["payment_status"] == "paid"
    assert Payment.objects.get().method == "card_terminal"


def test_authorize_only_waits_for_capture(web_api, shop):
    body = web_api.post(
        CHECKOUT,
        {
            "lines": [{"sku": "TEE", "quantity": 1}],
            "shipping_address": ADDRESS,
            "payment": {"provider": "test", "token": "tok_authorize"},
        },
    ).json()
    assert (body["status"], body["payment_status"]) == ("confirmed", "authorized")


def test_declined_payment_is_402_with_no_order_and_no_held_stock(web_api, shop):
    voucher_create(code="TEN", kind="fixed", value="1.00", usage_limit=3)
    response = web_api.post(
        CHECKOUT,
        {
            "lines": [{"sku": "TEE", "quantity": 1}],
            "voucher_code": "TEN",
            "shipping_address": ADDRESS,
            "payment": {"provider": "test", "token": "tok_decline"},
        },
    )
    assert_problem(response, 402, "payment_declined")
    nothing_placed(shop)
    assert Voucher.objects.get().used_count == 0


def test_not_enough_stock_is_409_listing_each_short_sku(web_api, shop):
    response = web_api.post(
        CHECKOUT, {"lines": [{"sku": "TEE", "quantity": 11}, {"sku": "MUG", "quantity": 1}]}
    )
    body = assert_problem(response, 409, "insufficient_stock")
    assert body["lines"] == [{"sku": "TEE", "requested": 11, "available": 10}]
    nothing_placed(shop)
    assert stock(shop["mug"]) == (100, 0)


@pytest.mark.parametrize(
    "lines",
    [
        [{"sku": "NOPE", "quantity": 1}],
        [{"sku": "TEE", "quantity": 0}],
        [{"sku": "TEE", "quantity": -1}],
        [{"sku": "TEE", "quantity": 100000}],
        [],
        "TEE",
    ],
)
def test_bad_lines_are_400_and_change_nothing(web_api, shop, lines):
    body = assert_problem(web_api.post(CHECKOUT, {"lines": lines}), 400, "invalid")
    assert any(field.startswith("lines") for field in body["errors"])
    nothing_placed(shop)


def test_sku_not_sold_in_the_channel_is_400(web_api, shop, instagram):
    from tests.factories import make_product

    make_product(slug="insta", skus={"INSTA": "5.00"}, channels=[instagram])
    body = assert_problem(
        web_api.post(CHECKOUT, {"lines": [{"sku": "INSTA", "quantity": 1}]}), 400, "invalid"
    )
    assert body["errors"] == {"lines": ["SKU 'INSTA' is not sold in this channel."]}


@pytest.mark.parametrize(
    "address,field",
    [
        ({**ADDRESS, "country": "GBR"}, "shipping_address.country"),
        ({k: v for k, v in ADDRESS.items() if k != "city"}, "shipping_address.city"),
        ({**ADDRESS, "evil": "x"}, "shipping_address.evil"),
    ],
)
def test_bad_address_is_400_and_changes_nothing(web_api, shop, address, field):
    body = assert_problem(
        web_api.post(
            CHECKOUT, {"lines": [{"sku": "TEE", "quantity": 1}], "shipping_address": address}
        ),
        400,
        "invalid",
    )
    assert field in body["errors"]
    nothing_placed(shop)


def test_client_sent_price_total_status_and_channel_change_nothing(web_api, shop, instagram):
    response = web_api.post(
        CHECKOUT,
        {
            "lines": [{"sku": "TEE", "quantity": 1, "price": "0.01", "unit_price": "0.01"}],
            "price": "0.01",
            "total": {"amount": "0.01", "currency": "USD"},
            "subtotal": "0.01",
            "status": "completed",
            "payment_status": "paid",
            "channel": "instagram",
            "discount": "19.99",
            "shipping_address": ADDRESS,
        },
    )
    body = response.json()
    assert response.status_code == 201
    assert body["total"] == money("19.99")
    assert body["lines"][0]["unit_price"] == money("19.99")
    assert (body["status"], body["payment_status"], body["channel"]) == ("pending", "unpaid", "web")


def test_taxes_and_vouchers_follow_the_rounding_rule(web_api, shop):
    channel = shop["channel"]
    channel.tax_rate = "0.0825"
    channel.save()
    voucher_create(code="SAVE15", kind="percentage", value="15")
    body = web_api.post(
        CHECKOUT,
        {
            "lines": [{"sku": "TEE", "quantity": 3}],
            "voucher_code": "save15",
            "shipping_address": ADDRESS,
            "shipping_method": "standard",
        },
    ).json()
    # 59.97 - 9.00 (15 % = 8.9955 → 9.00) + 0.00 shipping (50.97 ≥ 50) → tax 8.25 % of 50.97
    assert body["subtotal"] == money("59.97")
    assert body["discount"] == money("9.00")
    assert body["shipping"] == money("0.00")
    assert body["tax"] == money("4.21")
    assert body["total"] == money("55.18")
    assert Voucher.objects.get().used_count == 1


def test_prices_including_tax_show_the_tax_part(web_api, shop):
    channel = shop["channel"]
    channel.tax_rate, channel.prices_include_tax = "0.2000", True
    channel.save()
    body = web_api.post(
        CHECKOUT, {"lines": [{"sku": "TEE", "quantity": 1}], "shipping_address": ADDRESS}
    ).json()
    assert body["total"] == money("19.99")
    assert body["tax"] == money("3.33")


@pytest.mark.parametrize(
    "voucher,problem",
    [
        (
            {"code": "MIN", "kind": "fixed", "value": "5", "min_subtotal": "100"},
            "at least $100.00.",
        ),
        (
            {"code": "OLD", "kind": "fixed", "value": "5", "ends_at": "2020-01-01T00:00:00Z"},
            "not valid at this time",
        ),
    ],
)
def test_voucher_that_does_not_apply_is_400(web_api, shop, voucher, problem):
    from django.utils.dateparse import parse_datetime

    if "ends_at" in voucher:
        voucher["starts_at"] = parse_datetime("2019-01-01T00:00:00Z")
        voucher["ends_at"] = parse_datetime(voucher["ends_at"])
    voucher_create(**voucher)
    body = assert_problem(
        web_api.post(
            CHECKOUT, {"lines": [{"sku": "TEE", "quantity": 1}], "voucher_code": voucher["code"]}
        ),
        400,
        "invalid",
    )
    assert problem in body["errors"]["voucher_code"][0]
    nothing_placed(shop)


def test_customer_reads_the_order_by_token_only_in_its_channel(web_api, shop, instagram):
    from tests.conftest import Api
    from tests.factories import make_key

    line = {"sku": "TEE", "quantity": 1}
    token = web_api.post(CHECKOUT, {"lines": [line], "shipping_address": ADDRESS}).json()["token"]
    body = web_api.get(f"/api/v1/store/orders/{token}").json()
    assert body["token"] == token
    assert [step["type"] for step in body["timeline"]] == ["placed"]
    assert_problem(
        Api(make_key(instagram)[1]).get(f"/api/v1/store/orders/{token}"), 404, "not_found"
    )
    assert_problem(web_api.get("/api/v1/store/orders/not-a-token"), 404, "not_found")
    other = token[:-1] + ("1" if token.endswith("0") else "0")  # one hex digit away
    assert_problem(web_api.get(f"/api/v1/store/orders/{other}"), 404, "not_found")


def test_idempotent_checkout_replays_the_same_order(web_api, shop):
    payload = {"lines": [{"sku": "TEE", "quantity": 1}], "shipping_address": ADDRESS}
    first = web_api.post(CHECKOUT, payload, HTTP_IDEMPOTENCY_KEY="order-1")
    again = web_api.post(CHECKOUT, payload, HTTP_IDEMPOTENCY_KEY="order-1")
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert Order.objects.count() == 1
    assert stock(shop["tee"]) == (10, 1)
    assert OrderEvent.objects.count() == 1


class RecordingGateway:
    """The test gateway, recording what it is asked (the real one, wrapped)."""

    def __new__(cls, calls: list):
        from orders.payments.local import TestGateway

        class Recording(TestGateway):
            def session_open(self, **kwargs):
                calls.append(("open", kwargs["data"].get("token")))
                return super().session_open(**kwargs)

            def refund(self, *, reference, amount, currency, key):
                calls.append(("refund", reference, str(amount)))
                return super().refund(
                    reference=reference, amount=amount, currency=currency, key=key
                )

            def session_cancel(self, *, reference, key):
                calls.append(("cancel", reference))
                return super().session_cancel(reference=reference, key=key)

        return Recording()


def test_stock_is_held_before_the_gateway_is_asked(web_api, shop, monkeypatch):
    """The lock-free pre-check can pass and the stock still be gone (another checkout won the
    race): the hold refuses before any gateway call, so no money is taken at all."""
    from orders import payments
    from orders.services import checkout

    calls = []
    monkeypatch.setitem(payments.PROVIDERS, "test", RecordingGateway(calls))
    monkeypatch.setattr(checkout, "stock_ensure_available", lambda **kwargs: None)  # the race

    response = web_api.post(
        CHECKOUT,
        {
            "lines": [{"sku": "TEE", "quantity": 11}],
            "shipping_address": ADDRESS,
            "payment": {"provider": "test", "token": "tok_approve"},
        },
    )

    assert_problem(response, 409, "insufficient_stock")
    assert calls == []
    nothing_placed(shop)


def test_a_refusal_after_payment_gives_the_money_back(web_api, shop, monkeypatch):
    """The order can still be refused after the PSP answered (the voucher used up meanwhile):
    a charge is refunded, an authorization cancelled, and the held stock released."""
    from orders import payments
    from orders.errors import VoucherUnavailable
    from orders.services import checkout

    voucher_create(channels=[shop["channel"]], code="ONCE", kind="fixed", value="10")
    calls = []

    def used_up(voucher):
        raise VoucherUnavailable("This voucher has been used up.")

    monkeypatch.setitem(payments.PROVIDERS, "test", RecordingGateway(calls))
    monkeypatch.setattr(checkout, "voucher_use_count", used_up)

    for token in ("tok_approve", "tok_authorize"):
        response = web_api.post(
            CHECKOUT,
            {
                "lines": [{"sku": "TEE", "quantity": 2}],
                "shipping_address": ADDRESS,
                "voucher_code": "ONCE",
                "payment": {"provider": "test", "token": token},
            },
        )
        assert_problem(response, 409, "voucher_unavailable")
    assert [call[0] for call in calls] == ["open", "refund", "open", "cancel"]
    assert calls[1][2] == "29.98"  # 2 x 19.99 less 10.00 (no shipping method)
    nothing_placed(shop)


def test_a_replayed_paid_checkout_holds_nothing_and_asks_the_gateway_nothing(
    web_api, shop, monkeypatch
):
    from orders import payments

    calls = []
    monkeypatch.setitem(payments.PROVIDERS, "test", RecordingGateway(calls))
    payload = {
        "lines": [{"sku": "TEE", "quantity": 1}],
        "shipping_address": ADDRESS,
        "payment": {"provider": "test", "token": "tok_approve"},
    }
    first = web_api.post(CHECKOUT, payload, HTTP_IDEMPOTENCY_KEY="paid-1")
    holds = []
    monkeypatch.setattr(
        "orders.services.checkout.stock_reserve", lambda **kwargs: holds.append(kwargs)
    )
    again = web_api.post(CHECKOUT, payload, HTTP_IDEMPOTENCY_KEY="paid-1")

    assert again["Idempotent-Replayed"] == "true" and again.json() == first.json()
    assert calls == [("open", "tok_approve")] and holds == []
    assert Order.objects.count() == 1
    assert stock(shop["tee"]) == (10, 1)
