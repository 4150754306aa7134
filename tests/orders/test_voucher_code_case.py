"""Voucher codes are unique ignoring case, in the database too: two creates of "SUMMER"
and "summer" at the same moment give one voucher and a clear 400, never two vouchers
that checkout could not tell apart."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection
from django.urls import reverse

from backoffice.exceptions import ValidationFailed
from orders.locks import voucher_use_count
from orders.models import Voucher
from orders.services.setup import voucher_create
from tests.parallel import while_held


@pytest.mark.django_db(transaction=True)
def test_creates_of_one_code_in_two_cases_at_once_give_one_voucher_and_a_clear_refusal():
    with pytest.raises(ValidationFailed) as refused:
        while_held(
            lambda: voucher_create(code="SUMMER", kind="fixed", value="1.00"),
            lambda: voucher_create(code="summer", kind="fixed", value="2.00"),
        )

    assert refused.value.errors == {"code": ["A voucher 'summer' exists."]}
    assert list(Voucher.objects.values_list("code", "value")) == [("SUMMER", 1)]


@pytest.mark.django_db(transaction=True)
def test_the_api_answers_a_concurrent_create_in_another_case_with_invalid(admin_api):
    response = while_held(
        lambda: voucher_create(code="Summer", kind="fixed", value="1.00"),
        lambda: admin_api.post(
            "/api/v1/admin/vouchers", {"code": "SUMMER", "kind": "fixed", "value": "2"}
        ),
    )

    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["code"] == "invalid"
    assert body["errors"] == {"code": ["A voucher 'SUMMER' exists."]}
    assert list(Voucher.objects.values_list("code", flat=True)) == ["Summer"]


@pytest.mark.django_db
def test_the_migration_refuses_codes_that_differ_only_in_case_and_names_them():
    from importlib import import_module

    from django.apps import apps

    migration = import_module("orders.migrations.0010_voucher_code_unique_ignoring_case")
    assert connection.in_atomic_block  # the test's transaction brings the index back
    with connection.cursor() as cursor:  # the state before the migration: no such index
        cursor.execute("DROP INDEX voucher_code_unique_ignoring_case")
    for code in ("SUMMER", "summer", "Winter", "WINTER", "spring"):
        Voucher.objects.create(code=code, kind="fixed", value="1.00", currency="USD")

    with pytest.raises(RuntimeError) as refused:
        migration.refuse_duplicates(apps, None)

    assert "SUMMER, summer; WINTER, Winter" in str(refused.value)
    assert "spring" not in str(refused.value)


@pytest.mark.django_db(transaction=True)
def test_the_admin_refuses_a_code_taken_in_another_case_while_it_saved(admin_client):
    add = reverse("admin:orders_voucher_add")
    form = {"code": "summer", "kind": "fixed", "value": "2.00", "active": "on"}

    response = while_held(
        lambda: voucher_create(code="SUMMER", kind="fixed", value="1.00"),
        lambda: admin_client.post(add, form),
    )

    assert response.status_code == 200  # the page again, the service's refusal on the field
    assert response.context["adminform"].form.errors["code"] == ["A voucher 'summer' exists."]
    assert list(Voucher.objects.values_list("code", flat=True)) == ["SUMMER"]


@pytest.mark.django_db
def test_the_admin_form_refuses_a_code_in_another_case(admin_client):
    voucher_create(code="SUMMER", kind="fixed", value="1.00")

    response = admin_client.post(
        reverse("admin:orders_voucher_add"),
        {"code": "Summer", "kind": "fixed", "value": "2.00", "active": "on"},
    )

    assert response.status_code == 200
    assert response.context["adminform"].form.errors["code"] == ["A voucher 'Summer' exists."]
    assert Voucher.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_an_admin_edit_keeps_a_use_counted_while_it_saved(admin_client):
    voucher = voucher_create(code="SUMMER", kind="fixed", value="1.00", usage_limit=10)
    change = reverse("admin:orders_voucher_change", args=[voucher.pk])
    form = {"code": "SUMMER", "kind": "fixed", "value": "3.00", "usage_limit": "10"}
    form["active"] = "on"

    response = while_held(
        lambda: voucher_use_count(voucher),
        lambda: admin_client.post(change, form),
    )

    assert response.status_code == 302
    voucher.refresh_from_db()
    assert voucher.value == Decimal("3.00")
    assert voucher.used_count == 1
