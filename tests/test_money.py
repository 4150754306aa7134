"""Money: ISO 4217 minor units, one rounding rule, and one format for people and files."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core import mail
from django.test import override_settings

from backoffice.exceptions import ValidationFailed
from backoffice.money import (
    currency_minor_units,
    currency_problem,
    money_dict,
    money_format,
    money_plain,
    parse_amount,
    quantize,
)
from catalog.services import channel_create

NBSP = "\u00a0"


@pytest.mark.parametrize(
    "code,units",
    # COP, IDR, HUF and IQD are where ISO 4217 and everyday (CLDR) usage differ: ISO wins.
    [("USD", 2), ("usd", 2), ("EUR", 2), ("JPY", 0), ("BHD", 3), ("COP", 2), ("IQD", 3)],
)
def test_minor_units_come_from_the_iso_4217_table(code, units):
    assert currency_minor_units(code) == units


def test_unknown_currency_is_refused_by_name():
    with pytest.raises(ValueError, match="'ZZZ' is not an ISO 4217 currency code"):
        currency_minor_units("ZZZ")
    assert currency_problem("ZZZ") == "'ZZZ' is not an ISO 4217 currency code."
    assert currency_problem("CLF") == "CLF has 4 decimal places; amounts are kept with 3."
    assert currency_problem("USD") == ""


@pytest.mark.parametrize(
    "amount,currency,shown",
    [
        ("39.980", "USD", "$39.98"),
        ("40.970", "USD", "$40.97"),
        ("1234.5", "EUR", "€1,234.50"),
        ("3998", "JPY", "¥3,998"),
        ("1.2345", "BHD", f"BHD{NBSP}1.235"),
        ("0", "USD", "$0.00"),
        (Decimal("-5"), "USD", "-$5.00"),
    ],
)
def test_money_is_shown_to_the_minor_unit_with_its_symbol(amount, currency, shown):
    assert money_format(amount, currency) == shown


def test_money_follows_the_sites_language():
    assert money_format("1234.5", "EUR", locale="de_DE") == f"1.234,50{NBSP}€"
    with override_settings(LANGUAGE_CODE="fr-fr"):
        assert money_format("1234.5", "EUR") == f"1{chr(0x202F)}234,50{NBSP}€"


def test_plain_amounts_for_files_and_json_keep_exactly_the_minor_unit():
    assert money_plain(Decimal("39.980"), "USD") == "39.98"
    assert money_plain(Decimal("3998.000"), "JPY") == "3998"
    assert money_dict(Decimal("0.125"), "USD") == {"amount": "0.13", "currency": "USD"}
    assert quantize("2.5", "JPY") == Decimal("3")


def test_amounts_with_more_decimals_than_the_currency_are_refused():
    assert parse_amount("19.99", "USD") == Decimal("19.99")
    with pytest.raises(ValueError, match="JPY allows at most 0 decimal places"):
        parse_amount("19.5", "JPY")
    with pytest.raises(ValueError, match="Amounts must be below"):
        parse_amount("1e40", "USD")


@pytest.mark.django_db
def test_a_channel_needs_a_real_currency():
    with pytest.raises(ValidationFailed) as refused:
        channel_create(code="moon", currency="ZZZ")
    assert refused.value.extra["errors"] == {
        "currency": ["'ZZZ' is not an ISO 4217 currency code."]
    }
    assert channel_create(code="tokyo", currency="jpy").currency == "JPY"


@pytest.mark.django_db
def test_customer_emails_show_money_formatted():
    from fulfillment.notifications import notification_send
    from orders.services import CheckoutInput, checkout_direct
    from orders.services.validation import LineRequest
    from tests.factories import make_channel, make_product, make_warehouse, receive

    web = make_channel("web")
    variant = make_product(skus={"TEE": "19.99"}, channels=[web]).variants.get()
    receive(variant, make_warehouse("main", channels=[web]), 5)
    order = checkout_direct(
        channel=web,
        data=CheckoutInput(
            lines=[LineRequest(sku="TEE", quantity=2)],
            email="ada@example.com",
            shipping_address={
                "name": "Ada",
                "line1": "1 Main St",
                "city": "Springfield",
                "postal_code": "12345",
                "country": "US",
            },
        ),
    ).order
    mail.outbox.clear()

    assert notification_send(order_id=order.pk, kind="placed") is True

    body = mail.outbox[0].body
    assert "2 x " in body and ": $39.98" in body
    assert "Total: $39.98" in body
    assert "39.980" not in body
