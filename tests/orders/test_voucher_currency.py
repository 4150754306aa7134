"""A voucher's money is in its own currency, exact to that currency's minor unit, and it
applies only in channels of that currency; a percentage is not money and keeps two places
whatever the currency (12.5 % in a yen shop). Through the admin API, the checkout and the
Django admin, which all go through `orders.services.setup`."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.contrib.auth.models import User
from django.urls import reverse

from backoffice.audit.models import AuditEntry
from orders.models import Order, Voucher
from orders.services.setup import voucher_create, voucher_update
from tests.channels_api.test_auth_and_errors import assert_problem
from tests.conftest import Api
from tests.factories import (
    SHIPPING_ADDRESS,
    make_channel,
    make_key,
    make_product,
    make_warehouse,
    receive,
)

pytestmark = pytest.mark.django_db

VOUCHERS = "/api/v1/admin/vouchers"
CHECKOUT = "/api/v1/store/checkout"


@pytest.fixture
def tokyo(db):
    """A yen channel (no minor unit) selling TEE-tokyo at 1999 JPY."""
    channel = make_channel("tokyo", currency="JPY")
    _sell(channel, "1999")
    return channel


@pytest.fixture
def kuwait(db):
    """A dinar channel (three places) selling TEE-kuwait at 12.345 KWD."""
    channel = make_channel("kuwait", currency="KWD")
    _sell(channel, "12.345")
    return channel


def _sell(channel, price: str) -> None:
    sku = f"TEE-{channel.code}"
    variant = make_product(
        slug=f"tee-{channel.code}",
        skus={sku: "20.00"},
        channels=[channel],
        prices={channel.code: {sku: price}},
    ).variants.get()
    receive(variant, make_warehouse(f"wh-{channel.code}", channels=[channel]), 10)


def _checkout(channel, code: str):
    return Api(make_key(channel)[1]).post(
        CHECKOUT,
        {
            "lines": [{"sku": f"TEE-{channel.code}", "quantity": 1}],
            "voucher_code": code,
            "shipping_address": SHIPPING_ADDRESS,
        },
    )


def _state() -> list[tuple]:
    return list(
        Voucher.objects.order_by("code").values_list(
            "code", "kind", "value", "min_subtotal", "currency", "used_count"
        )
    )


def test_a_percentage_with_a_half_point_is_taken_in_a_yen_shop(admin_api, tokyo, settings):
    settings.DEFAULT_CURRENCY = "JPY"

    response = admin_api.post(
        VOUCHERS, {"code": "TWELVE", "kind": "percentage", "value": "12.5", "channels": ["tokyo"]}
    )

    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["value"], body["min_subtotal"], body["currency"]) == ("12.50", None, None)
    order = _checkout(tokyo, "twelve")
    assert order.status_code == 201, order.json()
    # 12.5 % of 1999 JPY = 249.875 → 250, the yen's minor unit
    assert order.json()["discount"] == {"amount": "250", "currency": "JPY"}
    assert order.json()["total"] == {"amount": "1749", "currency": "JPY"}


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("0", "A percentage is more than 0."),
        ("100.01", "A percentage is at most 100."),
        ("12.345", "A percentage has at most 2 decimal places."),
        ("ten", "Not a decimal number."),
        (12.5, 'Send amounts as decimal strings, e.g. "19.99".'),  # the API's own check
    ],
)
def test_a_bad_percentage_is_refused_by_name(admin_api, value, problem):
    body = assert_problem(
        admin_api.post(VOUCHERS, {"code": "BAD", "kind": "percentage", "value": value}),
        400,
        "invalid",
    )

    assert body["errors"] == {"value": [problem]}
    assert _state() == []


def test_a_fixed_voucher_is_exact_in_yen_and_applies_there(admin_api, tokyo):
    response = admin_api.post(
        VOUCHERS,
        {"code": "YEN500", "kind": "fixed", "value": "500", "min_subtotal": "1000",
         "channels": ["tokyo"]},
    )  # fmt: skip

    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["value"], body["min_subtotal"], body["currency"]) == ("500", "1000", "JPY")
    order = _checkout(tokyo, "YEN500")
    assert order.status_code == 201, order.json()
    assert order.json()["discount"] == {"amount": "500", "currency": "JPY"}
    assert order.json()["total"] == {"amount": "1499", "currency": "JPY"}


def test_a_fixed_voucher_keeps_the_dinars_three_places(admin_api, kuwait):
    response = admin_api.post(
        VOUCHERS, {"code": "KWD", "kind": "fixed", "value": "1.250", "currency": "kwd"}
    )

    assert response.status_code == 201, response.json()
    assert (response.json()["value"], response.json()["currency"]) == ("1.250", "KWD")
    order = _checkout(kuwait, "KWD")
    assert order.status_code == 201, order.json()
    assert order.json()["discount"] == {"amount": "1.250", "currency": "KWD"}
    assert order.json()["total"] == {"amount": "11.095", "currency": "KWD"}


def test_a_voucher_in_dollars_does_not_apply_in_a_yen_channel(admin_api, tokyo):
    voucher_create(code="FIVE", kind="fixed", value="5.00")  # every channel, the default USD
    assert Voucher.objects.get().currency == "USD"

    body = assert_problem(_checkout(tokyo, "FIVE"), 400, "invalid")

    assert body["errors"] == {"voucher_code": ["This voucher is for orders in USD."]}
    assert Order.objects.count() == 0
    assert Voucher.objects.get().used_count == 0


@pytest.mark.parametrize(
    ("payload", "field", "problem"),
    [
        ({"kind": "fixed", "value": "500.5", "channels": ["tokyo"]}, "value",
         "JPY allows at most 0 decimal places."),
        ({"kind": "fixed", "value": "1.2345", "currency": "KWD"}, "value",
         "KWD allows at most 3 decimal places."),
        ({"kind": "percentage", "value": "10", "min_subtotal": "10.5", "channels": ["tokyo"]},
         "min_subtotal", "JPY allows at most 0 decimal places."),
        ({"kind": "fixed", "value": "5", "channels": ["tokyo", "web"]}, "currency",
         "The channels sell in JPY, USD: name the currency of the voucher's amounts "
         "(it applies in channels of that currency)."),
        ({"kind": "fixed", "value": "5", "currency": "JPY", "channels": ["tokyo", "web"]},
         "channels", "Not in JPY, the voucher's currency: web."),
        ({"kind": "fixed", "value": "5", "currency": "ZZZ"}, "currency",
         "'ZZZ' is not an ISO 4217 currency code."),
        ({"kind": "fixed", "value": "5", "currency": "CLF"}, "currency",
         "CLF has 4 decimal places; amounts are kept with 3."),
        ({"kind": "fixed", "value": "5", "currency": "U$"}, "currency",
         "Use an ISO 4217 code such as USD."),
    ],
)  # fmt: skip
def test_money_that_does_not_fit_the_currency_is_refused_by_name(
    admin_api, tokyo, web, payload, field, problem
):
    voucher_create(code="KEEP", kind="fixed", value="100", channels=[tokyo])
    before = _state()

    body = assert_problem(admin_api.post(VOUCHERS, {"code": "NEW", **payload}), 400, "invalid")

    assert body["errors"] == {field: [problem]}
    assert _state() == before


def test_an_edit_to_a_yen_channel_checks_the_amount_in_yen(admin_api, tokyo, web):
    voucher_create(code="SPRING", kind="fixed", value="2.50", channels=[web])
    before = _state()

    moved = admin_api.patch(f"{VOUCHERS}/spring", {"channels": ["tokyo"]})
    body = assert_problem(moved, 400, "invalid")
    assert body["errors"] == {"channels": ["Not in USD, the voucher's currency: tokyo."]}
    body = assert_problem(
        admin_api.patch(f"{VOUCHERS}/spring", {"channels": ["tokyo"], "currency": "JPY"}),
        400,
        "invalid",
    )
    assert body["errors"] == {"value": ["JPY allows at most 0 decimal places."]}
    assert _state() == before

    response = admin_api.patch(
        f"{VOUCHERS}/spring", {"channels": ["tokyo"], "currency": "JPY", "value": "300"}
    )
    assert response.status_code == 200, response.json()
    assert (response.json()["value"], response.json()["currency"]) == ("300", "JPY")
    assert AuditEntry.objects.filter(action="voucher.updated").get().changes == {
        "value": "300",
        "currency": "JPY",
        "channels": ["tokyo"],
    }


def test_a_percentage_alone_applies_in_every_currency(tokyo, kuwait):
    voucher_create(code="TEN", kind="percentage", value="10")

    assert _checkout(tokyo, "TEN").json()["discount"] == {"amount": "200", "currency": "JPY"}
    assert _checkout(kuwait, "TEN").json()["discount"] == {"amount": "1.235", "currency": "KWD"}


def test_the_service_is_the_one_rule(tokyo):
    voucher = voucher_create(code="HALF", kind="percentage", value="12.5", channels=[tokyo])
    assert (voucher.value, voucher.currency) == (Decimal("12.50"), "")
    voucher = voucher_update(voucher=voucher, kind="fixed", value="700")
    assert (voucher.value, voucher.currency) == (Decimal("700"), "JPY")


def test_the_django_admin_fills_in_the_channels_currency(client, tokyo):
    user = User.objects.create_superuser("olive", "olive@example.com", "pw-long-enough-123")
    client.force_login(user)
    form = {"code": "YEN", "kind": "fixed", "value": "500", "channels": [tokyo.pk], "active": "on"}

    response = client.post(reverse("admin:orders_voucher_add"), form)

    assert response.status_code == 302, response.context["adminform"].form.errors
    assert _state() == [("YEN", "fixed", Decimal("500.000"), None, "JPY", 0)]
    refused = client.post(reverse("admin:orders_voucher_add"), {**form, "code": "YEN2",
                                                                 "value": "500.5"})  # fmt: skip
    assert refused.status_code == 200
    assert refused.context["adminform"].form.errors == {
        "value": ["JPY allows at most 0 decimal places."]
    }
    assert Voucher.objects.count() == 1


def test_the_migration_names_existing_vouchers_currencies(tokyo, web, settings):
    from importlib import import_module

    from django.apps import apps
    from django.db import connection

    migration = import_module("orders.migrations.0011_voucher_currency")
    with connection.cursor() as cursor:  # the state before: no currency, no constraint
        cursor.execute(
            "ALTER TABLE orders_voucher DROP CONSTRAINT voucher_money_terms_have_a_currency"
        )
    settings.DEFAULT_CURRENCY = "USD"
    rows = {
        "YEN": ("fixed", "500", None, [tokyo]),
        "ODD": ("fixed", "2.50", None, [tokyo]),  # not whole yen: left in the default currency
        "ALL": ("fixed", "5", None, []),
        "MIN": ("percentage", "10", "1000", [tokyo]),
        "PCT": ("percentage", "10", None, [tokyo, web]),
    }
    for code, (kind, value, minimum, channels) in rows.items():
        Voucher.objects.create(code=code, kind=kind, value=value, min_subtotal=minimum)
        Voucher.objects.get(code=code).channels.set(channels)

    migration.name_currencies(apps, None)

    assert dict(Voucher.objects.values_list("code", "currency")) == {
        "YEN": "JPY", "ODD": "USD", "ALL": "USD", "MIN": "JPY", "PCT": ""
    }  # fmt: skip
