"""The Django admin's voucher pages and the admin API refuse the same input with the same
words: both hand what was typed to the voucher services (`orders.services.setup`), and the
admin page adds no checks of the model's own (nor a stand-in currency for them)."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.urls import reverse

from backoffice.audit.models import AuditEntry
from orders.models import Voucher
from orders.services.setup import voucher_create
from tests.factories import make_channel

pytestmark = pytest.mark.django_db

VOUCHERS = "/api/v1/admin/vouchers"


@pytest.fixture
def staff_client(client):
    user = User.objects.create_superuser("olive", "olive@example.com", "pw-long-enough-123")
    client.force_login(user)
    return client


@pytest.fixture
def two_currencies():
    return make_channel("dollars", currency="USD"), make_channel("euros", currency="EUR")


def _state() -> list[tuple]:
    return list(
        Voucher.objects.order_by("code").values_list(
            "code", "kind", "value", "min_subtotal", "currency", "usage_limit"
        )
    )


def _admin_form(fields: dict, channels: list) -> dict:
    form = {"code": "SPRING", "kind": "fixed", "value": "2", "active": "on", **fields}
    if channels:
        form["channels"] = [channel.pk for channel in channels]
    return form


def _api_body(fields: dict, channels: list) -> dict:
    body = {"code": "SPRING", "kind": "fixed", "value": "2", **fields}
    if channels:
        body["channels"] = [channel.code for channel in channels]
    return body


@pytest.mark.parametrize(
    ("fields", "in_two_currencies"),
    [
        ({"value": "ten"}, False),
        ({"value": "1.2345"}, False),  # beyond the dollar's cents (and the column's places)
        ({"value": "1.005"}, False),
        ({"min_subtotal": "12.5.0"}, False),
        ({"kind": "percentage", "value": "12.345"}, False),
        ({"currency": "XYZ"}, False),
        ({"currency": "EUR"}, True),  # the dollar channel does not sell in it
        ({}, True),  # two currencies, none named
        ({"min_subtotal": "10"}, True),
        ({"usage_limit": "0"}, False),
        ({"usage_limit": "-1"}, False),
        ({"usage_limit": "2147483648"}, False),
        ({"usage_limit": "9" * 5000}, False),
        ({"usage_limit": "ten"}, False),  # not a number: the service's words on both
        ({"usage_limit": "1.5"}, False),
        ({"usage_limit": "1e3"}, False),
        ({"usage_limit": "\u0663"}, False),  # an Arabic-Indic 3: Python's int() reads it
    ],
)
def test_the_admin_page_refuses_what_the_api_refuses_with_the_same_words(
    staff_client, admin_api, two_currencies, fields, in_two_currencies
):
    voucher_create(code="SUMMER", kind="fixed", value="1", currency="USD")
    channels = list(two_currencies) if in_two_currencies else []
    before = _state()

    api = admin_api.post(VOUCHERS, _api_body(fields, channels))
    page = staff_client.post(reverse("admin:orders_voucher_add"), _admin_form(fields, channels))

    assert api.status_code == 400, api.json()
    assert page.status_code == 200
    form = page.context["adminform"].form
    assert {field: list(messages) for field, messages in form.errors.items()} == api.json()[
        "errors"
    ]
    assert _state() == before
    assert AuditEntry.objects.filter(action="voucher.created").count() == 1


def test_a_refused_page_shows_the_currency_as_typed_not_a_stand_in(staff_client, two_currencies):
    tokyo = make_channel("tokyo", currency="JPY")

    response = staff_client.post(
        reverse("admin:orders_voucher_add"),
        _admin_form({"value": "500.5", "currency": ""}, [tokyo]),
    )

    form = response.context["adminform"].form
    assert form.errors == {"value": ["JPY allows at most 0 decimal places."]}
    assert form["currency"].value() == ""
    assert form.instance.pk is None
    assert form.instance.currency == ""  # neither the default currency nor any other
    assert "USD" not in response.content.decode()
    assert _state() == []


def test_a_refused_change_keeps_the_voucher_and_its_page_as_typed(staff_client, two_currencies):
    dollars, euros = two_currencies
    voucher = voucher_create(code="SPRING", kind="fixed", value="2", channels=[dollars])
    change = reverse("admin:orders_voucher_change", args=[voucher.pk])

    response = staff_client.post(
        change, _admin_form({"currency": "", "value": "3"}, [dollars, euros])
    )

    form = response.context["adminform"].form
    assert list(form.errors) == ["currency"]
    assert form.instance.currency == "USD"  # the voucher as it is, not the input
    assert _state() == [("SPRING", "fixed", voucher.value, None, "USD", None)]


def test_the_admin_page_still_saves_what_the_service_accepts(staff_client, two_currencies):
    dollars, _ = two_currencies

    added = staff_client.post(
        reverse("admin:orders_voucher_add"),
        _admin_form({"value": "2.5", "min_subtotal": "20", "usage_limit": "3"}, [dollars]),
    )
    voucher = Voucher.objects.get()
    changed = staff_client.post(
        reverse("admin:orders_voucher_change", args=[voucher.pk]),
        _admin_form(
            {"code": "spring2", "value": "3", "min_subtotal": "", "usage_limit": ""}, [dollars]
        ),
    )

    assert added.status_code == 302, added.context["adminform"].form.errors
    assert changed.status_code == 302, changed.context["adminform"].form.errors
    voucher.refresh_from_db()
    assert (voucher.code, voucher.value, voucher.min_subtotal, voucher.currency) == (
        "spring2",
        3,
        None,
        "USD",
    )
    assert voucher.usage_limit is None
    assert list(voucher.channels.all()) == [dollars]
    assert list(
        AuditEntry.objects.filter(target_type="voucher")
        .order_by("pk")
        .values_list("action", flat=True)
    ) == ["voucher.created", "voucher.updated"]


@pytest.mark.parametrize("limit", [1.5, 2.0, True, "ten", [3], {"n": 3}, "", "0" * 5000])
def test_the_api_refuses_a_usage_limit_no_whole_number_in_the_services_words(admin_api, limit):
    voucher_create(code="SUMMER", kind="fixed", value="1", currency="USD")
    before = _state()

    created = admin_api.post(VOUCHERS, _api_body({"usage_limit": limit}, []))
    changed = admin_api.patch(f"{VOUCHERS}/SUMMER", {"usage_limit": limit})

    for answer in (created, changed):
        assert answer.status_code == 400, answer.json()
        assert answer.json()["errors"] == {"usage_limit": ["A whole number, 1 or more."]}
    assert _state() == before


def test_a_usage_limit_as_digits_is_taken_by_the_api_and_the_page(staff_client, admin_api):
    api = admin_api.post(VOUCHERS, _api_body({"usage_limit": " 07 "}, []))
    page = staff_client.post(
        reverse("admin:orders_voucher_add"), _admin_form({"code": "PAGE", "usage_limit": "007"}, [])
    )

    assert api.status_code == 201, api.json()
    assert api.json()["usage_limit"] == 7
    assert page.status_code == 302
    assert Voucher.objects.get(code="PAGE").usage_limit == 7
