"""A paid checkout's hold through the API, on the stock row's counter (`reserved_units`):
taken in one statement, given back when the PSP refuses, turned into the allocation (once
paid, before the order's transaction), that allocation given back when no order is placed,
and swept when the checkout died before its order committed."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from backoffice.exceptions import ValidationFailed
from inventory.models import Allocation, Reservation, StockLevel
from inventory.selectors import stock_check
from inventory.tasks import allocations_sweep_orphaned_task
from tests.orders.test_checkout import ADDRESS, CHECKOUT

pytestmark = pytest.mark.django_db(transaction=True)


def checkout(api, token: str, quantity: int = 2):
    return api.post(
        CHECKOUT,
        {
            "lines": [{"sku": "TEE", "quantity": quantity}],
            "email": "a@example.com",
            "shipping_address": ADDRESS,
            "payment": {"provider": "test", "token": token},
        },
    )


def counted(shop) -> tuple[int, int]:
    level = StockLevel.objects.get(variant=shop["tee"])
    return level.allocated, level.reserved_units


def test_a_declined_card_gives_the_held_units_back_to_the_counter(web_api, shop):
    response = checkout(web_api, "tok_decline")

    assert response.status_code == 402, response.json()
    assert counted(shop) == (0, 0)
    assert not Reservation.objects.exists()
    assert stock_check() == []


def test_a_paid_checkout_turns_its_counted_hold_into_the_allocation(web_api, shop):
    response = checkout(web_api, "tok_approve")

    assert response.status_code == 201, response.json()
    assert counted(shop) == (2, 0)
    assert not Reservation.objects.exists()
    assert stock_check() == []


def test_an_authorized_card_keeps_its_units_allocated_not_reserved(web_api, shop):
    response = checkout(web_api, "tok_authorize", quantity=10)

    assert response.status_code == 201, response.json()
    assert counted(shop) == (10, 0)
    sold_out = checkout(web_api, "tok_approve", quantity=1)
    assert sold_out.status_code == 409, sold_out.json()
    assert sold_out.json()["lines"] == [{"sku": "TEE", "requested": 1, "available": 0}]
    assert stock_check() == []


def refuse_in_the_orders_transaction(monkeypatch) -> None:
    """The order's transaction refuses after the stock was allocated (a link's limit)."""

    def refused(**_):
        raise ValidationFailed({"attribution": ["The link reached its limit."]})

    monkeypatch.setattr("orders.services.checkout.link_order_record", refused)


def test_a_paid_checkout_refused_in_its_orders_transaction_gives_the_allocation_back(
    web_api, shop, monkeypatch
):
    refuse_in_the_orders_transaction(monkeypatch)

    response = checkout(web_api, "tok_approve")

    assert response.status_code == 400, response.json()
    assert counted(shop) == (0, 0)
    assert not Allocation.objects.exists() and not Reservation.objects.exists()
    assert stock_check() == []


def test_a_checkout_that_died_before_its_order_committed_is_swept(web_api, shop, monkeypatch):
    # Given a checkout whose process dies after its allocation: nothing gives it back
    refuse_in_the_orders_transaction(monkeypatch)
    monkeypatch.setattr("orders.services.checkout._prepared_abandon", lambda prepared: None)
    assert checkout(web_api, "tok_approve").status_code == 400
    (orphan,) = Allocation.objects.all()
    assert orphan.holder.startswith("checkout:") and counted(shop) == (2, 0)
    assert stock_check() == []  # the books agree: the units are promised to that holder

    # When the sweep runs before the allocation is old enough, it stays
    assert allocations_sweep_orphaned_task.run() == 0
    assert Allocation.objects.count() == 1

    # Then once older than the setting, the sweep gives it back, once
    Allocation.objects.update(
        created_at=timezone.now()
        - timedelta(minutes=settings.INVENTORY_ORPHAN_ALLOCATION_MINUTES, seconds=1)
    )
    assert allocations_sweep_orphaned_task.run() == 2
    assert allocations_sweep_orphaned_task.run() == 0
    assert counted(shop) == (0, 0) and not Allocation.objects.exists()
    assert stock_check() == []
    # And the units sell again, the order's allocation left alone by the sweep
    monkeypatch.undo()
    assert checkout(web_api, "tok_approve", quantity=10).status_code == 201
    Allocation.objects.update(created_at=timezone.now() - timedelta(days=1))
    assert allocations_sweep_orphaned_task.run() == 0
    assert counted(shop) == (10, 0)


def test_the_sweep_runs_every_minute_and_acknowledges_late():
    entry = settings.CELERY_BEAT_SCHEDULE["inventory-sweep-orphaned-allocations"]
    assert entry["task"] == allocations_sweep_orphaned_task.name
    assert entry["schedule"] == 60.0
    assert allocations_sweep_orphaned_task.acks_late is True
