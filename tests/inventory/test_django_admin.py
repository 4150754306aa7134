"""Django admin for stock: read-only counters, reserved/available, low-stock filter, adjust."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from inventory.models import StockLevel, StockMovement
from inventory.services import StockLine, stock_reserve
from tests.factories import receive
from tests.inventory.helpers import inventory_snapshot

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/inventory/stocklevel/"


def adjust_url(level: StockLevel) -> str:
    return reverse("admin:inventory_stocklevel_adjust", args=[level.pk])


def test_change_page_is_read_only_and_links_to_adjust(admin_client, main, tee):
    receive(tee, main, 10)
    level = StockLevel.objects.get()

    page = admin_client.get(reverse("admin:inventory_stocklevel_change", args=[level.pk]))

    assert page.status_code == 200
    html = page.content.decode()
    assert adjust_url(level) in html
    assert 'name="on_hand"' not in html
    assert 'name="_save"' not in html


def test_adjust_form_calls_the_service_and_records_the_reason(admin_client, admin_user, main, tee):
    receive(tee, main, 10)
    level = StockLevel.objects.get()
    assert admin_client.get(adjust_url(level)).status_code == 200

    response = admin_client.post(
        adjust_url(level), {"delta": "-3", "kind": "adjustment", "reason": "damaged in transit"}
    )

    assert response.status_code == 302
    assert response["Location"] == reverse("admin:inventory_stocklevel_change", args=[level.pk])
    movement = StockMovement.objects.first()
    assert (movement.delta, movement.on_hand_after, movement.reason) == (-3, 7, "adjustment")
    assert (movement.note, movement.actor) == ("damaged in transit", f"staff:{admin_user.username}")
    assert StockLevel.objects.get().on_hand == 7


def test_adjust_form_refusal_is_shown_and_changes_nothing(admin_client, web, main, tee):
    receive(tee, main, 5)
    stock_reserve(channel=web, holder="cart:1", lines=[StockLine(tee, 4)])
    level = StockLevel.objects.get()
    before = inventory_snapshot()

    response = admin_client.post(
        adjust_url(level), {"delta": "-2", "kind": "adjustment", "reason": "x"}
    )
    empty = admin_client.post(adjust_url(level), {"delta": "0", "kind": "adjustment", "reason": ""})

    assert response.status_code == 200
    assert "but 4 are allocated or reserved" in response.content.decode()
    assert set(empty.context["form"].errors) == {"delta", "reason"}
    assert inventory_snapshot() == before


def test_adjust_needs_the_change_permission(client, django_user_model, main, tee):
    receive(tee, main, 5)
    level = StockLevel.objects.get()
    viewer = django_user_model.objects.create_user("viewer", password="pw", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_stocklevel"))
    client.force_login(viewer)
    before = inventory_snapshot()

    response = client.post(adjust_url(level), {"delta": "5", "kind": "receipt", "reason": "x"})

    assert response.status_code == 403
    assert inventory_snapshot() == before


def test_changelist_shows_reserved_and_available_and_filters_low_stock(
    admin_client, web, main, backup, tee, mug
):
    receive(tee, main, 6)
    receive(mug, main, 3)
    receive(tee, backup, 10)
    stock_reserve(channel=web, holder="cart:1", lines=[StockLine(tee, 2)])  # from main: 4 left

    page = admin_client.get(CHANGELIST)
    low = admin_client.get(f"{CHANGELIST}?low=yes")
    fine = admin_client.get(f"{CHANGELIST}?low=no")

    rows = {
        (level.variant.sku, level.warehouse.code): (level.reserved, level.available)
        for level in page.context["cl"].result_list
    }
    assert rows == {("TEE", "main"): (2, 4), ("MUG", "main"): (0, 3), ("TEE", "backup"): (0, 10)}
    assert "column-available" in page.content.decode()
    assert {(lv.variant.sku, lv.warehouse.code) for lv in low.context["cl"].result_list} == {
        ("TEE", "main"),
        ("MUG", "main"),
    }
    assert [(lv.variant.sku, lv.warehouse.code) for lv in fine.context["cl"].result_list] == [
        ("TEE", "backup")
    ]
