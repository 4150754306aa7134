"""Voucher edits go through `voucher_update` (the admin's add and change pages and the admin
API alike): the row is locked, only the changed columns are written (never `used_count`),
the terms are checked as on a create, and an audit row says what changed."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.contrib.auth.models import User
from django.urls import reverse

from backoffice.audit.models import AuditEntry
from backoffice.exceptions import ValidationFailed
from orders.locks import voucher_use_count
from orders.models import Order, Voucher
from orders.services.setup import voucher_create, voucher_update
from tests.factories import SHIPPING_ADDRESS, make_product, make_warehouse, receive
from tests.parallel import while_held

VOUCHERS = "/api/v1/admin/vouchers"


def _row(voucher: Voucher) -> tuple:
    voucher.refresh_from_db()
    return (voucher.code, voucher.kind, voucher.value, voucher.usage_limit, voucher.used_count)


@pytest.fixture
def tee(web):
    warehouse = make_warehouse("main", channels=[web])
    variant = make_product(slug="tee", skus={"TEE": "20.00"}, channels=[web]).variants.get()
    receive(variant, warehouse, 10)
    return variant


@pytest.mark.django_db(transaction=True)
def test_a_checkout_using_the_voucher_while_an_edit_commits_keeps_its_use(store_api, tee):
    voucher = voucher_create(code="SPRING", kind="fixed", value="1.00", usage_limit=5)

    response = while_held(
        lambda: voucher_update(voucher=voucher, value="3.00", actor="staff:olive"),
        lambda: store_api.post(
            "/api/v1/store/checkout",
            {
                "lines": [{"sku": "TEE", "quantity": 1}],
                "voucher_code": "SPRING",
                "shipping_address": SHIPPING_ADDRESS,
            },
        ),
    )

    assert response.status_code == 201, response.json()
    assert _row(voucher) == ("SPRING", "fixed", Decimal("3.00"), 5, 1)
    assert Order.objects.get().voucher_code == "SPRING"


@pytest.mark.django_db(transaction=True)
def test_an_edit_that_waited_for_a_use_keeps_it():
    voucher = voucher_create(code="SPRING", kind="fixed", value="1.00", usage_limit=5)

    while_held(
        lambda: voucher_use_count(voucher),
        lambda: voucher_update(voucher=voucher, value="3.00", usage_limit=4),
    )

    assert _row(voucher) == ("SPRING", "fixed", Decimal("3.00"), 4, 1)


@pytest.mark.django_db(transaction=True)
def test_a_usage_limit_below_a_use_counted_while_the_edit_waited_is_refused():
    voucher = voucher_create(code="SPRING", kind="fixed", value="1.00", usage_limit=5)
    voucher_use_count(voucher)

    with pytest.raises(ValidationFailed) as refused:
        while_held(
            lambda: voucher_use_count(voucher),
            lambda: voucher_update(voucher=voucher, usage_limit=1),
        )

    assert list(refused.value.errors) == ["usage_limit"]
    assert "Used 2 times already" in refused.value.errors["usage_limit"][0]
    assert _row(voucher) == ("SPRING", "fixed", Decimal("1.00"), 5, 2)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"usage_limit": 0}, "usage_limit"),
        ({"usage_limit": -1}, "usage_limit"),
        ({"kind": "percentage", "value": "150"}, "value"),
        ({"kind": "percentage"}, "value"),  # 250 % once the kind changes
        ({"kind": "half"}, "kind"),
        ({"value": "-1"}, "value"),
        ({"value": "1.005"}, "value"),
        ({"min_subtotal": "abc"}, "min_subtotal"),
        ({"ends_at": "2024-01-01T00:00:00Z"}, "ends_at"),  # before starts_at
        ({"code": "SUMMER"}, "code"),
        ({"code": "summer"}, "code"),
        ({"code": "has space"}, "code"),
    ],
)
def test_a_bad_edit_is_refused_naming_the_field_and_changes_nothing(changes, field):
    from django.utils.dateparse import parse_datetime

    voucher_create(code="Summer", kind="fixed", value="1.00")
    voucher = voucher_create(
        code="SPRING",
        kind="fixed",
        value="250",
        usage_limit=5,
        starts_at=parse_datetime("2024-03-01T00:00:00Z"),
    )
    voucher_use_count(voucher)
    if "ends_at" in changes:
        changes = {"ends_at": parse_datetime(changes["ends_at"])}

    with pytest.raises(ValidationFailed) as refused:
        voucher_update(voucher=voucher, **changes)

    assert list(refused.value.errors) == [field]
    assert _row(voucher) == ("SPRING", "fixed", Decimal("250.00"), 5, 1)
    assert not AuditEntry.objects.filter(action="voucher.updated").exists()


@pytest.mark.django_db
def test_an_edit_writes_only_what_changed_and_audits_it(web):
    voucher = voucher_create(code="SPRING", kind="fixed", value="1.00", actor="staff:olive")
    Voucher.objects.filter(pk=voucher.pk).update(used_count=3)  # counted by checkouts

    voucher.used_count = 0  # what a page read long ago shows; never written back
    voucher_update(voucher=voucher, code="spring", value="1.00", channels=[web], actor="staff:o")
    voucher_update(voucher=voucher, value="1.00", active=True)  # nothing changes

    assert _row(voucher) == ("spring", "fixed", Decimal("1.00"), None, 3)
    assert list(voucher.channels.values_list("code", flat=True)) == ["web"]
    entries = AuditEntry.objects.filter(target_type="voucher").order_by("id")
    assert [(e.actor, e.action, e.changes) for e in entries][1:] == [
        ("staff:o", "voucher.updated", {"code": "spring", "channels": ["web"]})
    ]
    assert entries[0].action == "voucher.created" and entries[0].actor == "staff:olive"


# The admin: both pages save through the services and show their refusals as form errors.


@pytest.fixture
def staff_client(client, db):
    user = User.objects.create_superuser("olive", "olive@example.com", "pw-long-enough-123")
    client.force_login(user)
    return client


def _form(**fields) -> dict:
    form = {"code": "SPRING", "kind": "fixed", "value": "2.00", "active": "on"}
    form.update(fields)
    return {name: value for name, value in form.items() if value is not None}


@pytest.mark.django_db
def test_the_admin_add_page_creates_through_the_service(staff_client):
    response = staff_client.post(reverse("admin:orders_voucher_add"), _form(usage_limit="3"))

    assert response.status_code == 302
    voucher = Voucher.objects.get()
    assert _row(voucher) == ("SPRING", "fixed", Decimal("2.00"), 3, 0)
    entry = AuditEntry.objects.get(target_type="voucher")
    assert (entry.actor, entry.action) == ("staff:olive", "voucher.created")


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"kind": "percentage", "value": "120"}, "value", "A percentage is at most 100."),
        ({"code": "summer"}, "code", "A voucher &#x27;summer&#x27; exists."),
    ],
)
def test_the_admin_add_page_shows_the_services_refusal_as_a_form_error(
    staff_client, fields, field, message
):
    voucher_create(code="SUMMER", kind="fixed", value="1.00")

    response = staff_client.post(reverse("admin:orders_voucher_add"), _form(**fields))

    assert response.status_code == 200
    assert response.context["adminform"].form.errors.get(field), response.context[
        "adminform"
    ].form.errors
    assert message in response.content.decode()
    assert Voucher.objects.count() == 1


@pytest.mark.django_db
def test_the_admin_change_page_refuses_a_limit_below_the_uses_as_a_form_error(staff_client):
    voucher = voucher_create(code="SPRING", kind="fixed", value="1.00", usage_limit=5)
    for _ in range(3):
        voucher_use_count(voucher)
    change = reverse("admin:orders_voucher_change", args=[voucher.pk])

    response = staff_client.post(change, _form(value="1.00", usage_limit="2"))

    assert response.status_code == 200
    assert response.context["adminform"].form.errors["usage_limit"] == [
        "Used 3 times already: the limit cannot be lower."
    ]
    assert _row(voucher) == ("SPRING", "fixed", Decimal("1.00"), 5, 3)


@pytest.mark.django_db
def test_the_admin_change_page_saves_through_the_service(staff_client):
    voucher = voucher_create(code="SPRING", kind="fixed", value="1.00", usage_limit=5)
    change = reverse("admin:orders_voucher_change", args=[voucher.pk])
    voucher_use_count(voucher)  # after the page was read

    response = staff_client.post(change, _form(value="4.00", usage_limit="5"))

    assert response.status_code == 302
    assert _row(voucher) == ("SPRING", "fixed", Decimal("4.00"), 5, 1)
    entry = AuditEntry.objects.get(action="voucher.updated")
    assert (entry.actor, entry.changes) == ("staff:olive", {"value": "4.00"})


# The admin API: the same services, so the same rules and the same refusals.


@pytest.mark.django_db
def test_the_api_retrieves_and_patches_a_voucher(admin_api):
    voucher = voucher_create(code="SPRING", kind="fixed", value="1.00", usage_limit=5)
    voucher_use_count(voucher)

    got = admin_api.get(f"{VOUCHERS}/spring")
    patched = admin_api.patch(f"{VOUCHERS}/SPRING", {"value": "2.50", "usage_limit": 3})

    assert got.status_code == 200 and got.json()["code"] == "SPRING"
    assert patched.status_code == 200, patched.json()
    assert (patched.json()["value"], patched.json()["usage_limit"]) == ("2.50", 3)
    assert patched.json()["used_count"] == 1
    assert _row(voucher) == ("SPRING", "fixed", Decimal("2.50"), 3, 1)


@pytest.mark.django_db
def test_an_api_patch_that_renames_the_code_answers_the_voucher_under_its_new_code(admin_api):
    voucher = voucher_create(code="SPRING", kind="fixed", value="1.00")

    patched = admin_api.patch(f"{VOUCHERS}/SPRING", {"code": "SPRING26"})

    assert patched.status_code == 200, patched.json()
    assert patched.json()["code"] == "SPRING26"
    assert admin_api.get(f"{VOUCHERS}/spring26").json()["value"] == "1.00"
    assert admin_api.get(f"{VOUCHERS}/SPRING").status_code == 404
    assert _row(voucher)[0] == "SPRING26"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"usage_limit": 0}, "usage_limit"),
        ({"code": "summer"}, "code"),
        ({"kind": "percentage", "value": "101"}, "value"),
        ({"value": 1.5}, "value"),
        ({"used_count": 0}, "used_count"),
        ({"channels": ["nope"]}, "channels"),
    ],
)
def test_a_bad_api_patch_is_400_and_changes_nothing(admin_api, body, field):
    voucher_create(code="SUMMER", kind="fixed", value="1.00")
    voucher = voucher_create(code="SPRING", kind="fixed", value="1.00", usage_limit=5)
    voucher_use_count(voucher)

    response = admin_api.patch(f"{VOUCHERS}/SPRING", body)

    assert response.status_code == 400, response.json()
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == "invalid"
    assert list(response.json()["errors"]) == [field]
    assert _row(voucher) == ("SPRING", "fixed", Decimal("1.00"), 5, 1)


@pytest.mark.django_db
def test_an_unknown_voucher_is_404(admin_api):
    assert admin_api.get(f"{VOUCHERS}/NOPE").status_code == 404
    assert admin_api.patch(f"{VOUCHERS}/NOPE", {"active": False}).status_code == 404
