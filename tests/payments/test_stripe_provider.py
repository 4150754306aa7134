"""The Stripe provider against localstripe, through the official library: amounts in minor
units, manual capture (also partial), refunds (also partial), cancel, and errors."""

from __future__ import annotations

from decimal import Decimal

import pytest

from orders.errors import PaymentProviderUnavailable
from orders.payments import provider_get
from orders.payments.base import AUTHORIZED, CANCELED, OPEN, SUCCEEDED
from tests.payments.stripe_helpers import (
    customer_is_declined,
    customer_pays,
    intent,
    refunds_of,
    stalling_server,
)

pytestmark = pytest.mark.django_db


def open_session(amount: str, currency: str, capture: str = "automatic"):
    return provider_get("stripe").session_open(
        amount=Decimal(amount),
        currency=currency,
        capture=capture,
        key=f"k-{amount}-{currency}-{capture}",
        data={},
        metadata={"order": "test"},
    )


@pytest.mark.parametrize(
    ("amount", "currency", "minor"),
    [("19.99", "USD", 1999), ("500", "JPY", 500), ("1.234", "KWD", 1234), ("7", "CLP", 7)],
)
def test_amounts_go_to_stripe_in_the_currencys_minor_units(stripe_on, amount, currency, minor):
    session = open_session(amount, currency)

    stored = intent(session.reference)
    assert (stored["amount"], stored["currency"]) == (minor, currency.lower())
    assert session.status == OPEN
    assert session.amount == Decimal(amount)
    assert session.client_secret.startswith(session.reference)


def test_manual_capture_takes_part_of_the_authorization(stripe_on):
    stripe = provider_get("stripe")
    session = open_session("50.00", "USD", capture="manual")
    customer_pays(session.reference)
    assert stripe.session_get(reference=session.reference).status == AUTHORIZED

    stripe.capture(reference=session.reference, amount=Decimal("30.00"), currency="USD", key="c1")

    assert stripe.session_get(reference=session.reference).status == SUCCEEDED
    charge = intent(session.reference)["latest_charge"]
    # localstripe books the released remainder of a partial capture as a refund of the charge
    assert (charge["amount"], charge["amount_refunded"], charge["captured"]) == (5000, 2000, True)


def test_partial_refund_carries_our_key_and_is_found_again(stripe_on):
    stripe = provider_get("stripe")
    session = open_session("20.00", "USD")
    customer_pays(session.reference)

    reference = stripe.refund(
        reference=session.reference, amount=Decimal("5.50"), currency="USD", key="r-1"
    )

    assert [(r["id"], r["amount"]) for r in refunds_of(session.reference)] == [(reference, 550)]
    assert stripe.refund_find(reference=session.reference, key="r-1") == reference
    assert stripe.refund_find(reference=session.reference, key="r-2") is None


def test_cancel_ends_an_open_session_and_a_paid_one_stays_paid(stripe_on):
    stripe = provider_get("stripe")
    open_one, paid_one = open_session("3.00", "USD"), open_session("4.00", "USD")
    customer_pays(paid_one.reference)

    assert stripe.session_cancel(reference=open_one.reference, key="x").status == CANCELED
    assert stripe.session_cancel(reference=paid_one.reference, key="y").status == SUCCEEDED
    assert intent(open_one.reference)["status"] == "canceled"


def test_a_stripe_that_never_answers_times_out_as_unavailable(stripe_on):
    stripe_on.PAYMENT_GATEWAY_TIMEOUT_SECONDS = 1
    with stalling_server() as url:
        stripe_on.STRIPE_API_BASE = url
        with pytest.raises(PaymentProviderUnavailable):
            open_session("9.00", "USD")


def test_a_declined_card_leaves_the_session_open_with_the_reason(stripe_on):
    stripe = provider_get("stripe")
    session = open_session("12.00", "USD")
    customer_is_declined(session.reference)

    state = stripe.session_get(reference=session.reference)
    assert state.status == OPEN
    assert state.error
