"""A checkout's own hold becomes its order's allocation without the stock rows read again
(`stock_allocate_held`): at once while it holds, the full path when it lapsed, and a
refusal when the stock was counted down below it meanwhile."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from inventory.errors import InsufficientStock
from inventory.models import Allocation, Reservation, StockLevel
from inventory.selectors import stock_check
from inventory.services import StockLine, stock_allocate_held, stock_reserve
from tests.factories import receive

pytestmark = pytest.mark.django_db

HOLD = "checkout:test-hold"


def held(web, lines) -> None:
    stock_reserve(channel=web, holder=HOLD, lines=lines, ttl_seconds=300, fresh=True)


def test_a_live_hold_becomes_the_allocation(web, main, backup, tee, mug):
    receive(tee, main, 2)
    receive(tee, backup, 2)  # the hold spans both warehouses
    receive(mug, main, 4)
    lines = [StockLine(tee, 4), StockLine(mug, 1)]
    held(web, lines)

    with transaction.atomic():
        stock_allocate_held(channel=web, holder="order:1", hold=HOLD, lines=lines)

    assert not Reservation.objects.filter(holder=HOLD).exists()
    allocated = sorted(
        Allocation.objects.filter(holder="order:1").values_list(
            "stock_level__variant__sku", "stock_level__warehouse__code", "quantity"
        )
    )
    assert allocated == [("MUG", "main", 1), ("TEE", "backup", 2), ("TEE", "main", 2)]
    assert sum(StockLevel.objects.values_list("allocated", flat=True)) == 5
    assert stock_check() == []


def test_a_lapsed_hold_takes_what_is_free_now(web, main, tee):
    receive(tee, main, 3)
    lines = [StockLine(tee, 2)]
    held(web, lines)
    Reservation.objects.filter(holder=HOLD).update(expires_at=timezone.now() - timedelta(seconds=1))

    with transaction.atomic():
        stock_allocate_held(channel=web, holder="order:1", hold=HOLD, lines=lines)

    assert not Reservation.objects.filter(holder=HOLD).exists()
    assert Allocation.objects.get(holder="order:1").quantity == 2
    assert StockLevel.objects.get(variant=tee).allocated == 2


def test_stock_counted_down_below_the_hold_refuses_and_changes_nothing(web, main, tee, mug):
    receive(tee, main, 3)
    receive(mug, main, 3)
    lines = [StockLine(mug, 1), StockLine(tee, 2)]
    held(web, lines)
    StockLevel.objects.filter(variant=tee).update(on_hand=1)  # a stock count found one

    with pytest.raises(InsufficientStock) as refused, transaction.atomic():
        stock_allocate_held(channel=web, holder="order:1", hold=HOLD, lines=lines)

    assert refused.value.lines == [{"sku": "TEE", "requested": 2, "available": 1}]
    assert not Allocation.objects.exists()
    assert list(StockLevel.objects.order_by("id").values_list("allocated", flat=True)) == [0, 0]
    assert Reservation.objects.filter(holder=HOLD).count() == 2  # rolled back with the order


def test_a_lapsed_hold_whose_units_went_to_another_cart_is_refused(web, main, tee):
    receive(tee, main, 3)
    lines = [StockLine(tee, 2)]
    held(web, lines)
    Reservation.objects.filter(holder=HOLD).update(expires_at=timezone.now() - timedelta(seconds=1))
    stock_reserve(channel=web, holder="cart:other", lines=[StockLine(tee, 2)])  # free again

    with pytest.raises(InsufficientStock), transaction.atomic():
        stock_allocate_held(channel=web, holder="order:1", hold=HOLD, lines=lines)

    assert not Allocation.objects.exists()


def test_a_hold_of_other_units_per_sku_is_not_the_allocation_though_as_many(web, main, tee, mug):
    # Given a hold of 2 x TEE + 1 x MUG (three units)
    receive(tee, main, 5)
    receive(mug, main, 5)
    held(web, [StockLine(tee, 2), StockLine(mug, 1)])

    # When it is turned into the allocation of 1 x TEE + 2 x MUG (three units too)
    with transaction.atomic():
        stock_allocate_held(
            channel=web, holder="order:1", hold=HOLD, lines=[StockLine(tee, 1), StockLine(mug, 2)]
        )

    # Then the order gets what its lines say (the full path), not what the hold held
    allocated = dict(
        Allocation.objects.filter(holder="order:1").values_list(
            "stock_level__variant__sku", "quantity"
        )
    )
    assert allocated == {"TEE": 1, "MUG": 2}
    assert not Reservation.objects.filter(holder=HOLD).exists()
    assert dict(StockLevel.objects.values_list("variant__sku", "allocated")) == {"TEE": 1, "MUG": 2}
    assert dict(StockLevel.objects.values_list("variant__sku", "reserved_units")) == {
        "TEE": 0,
        "MUG": 0,
    }
    assert stock_check() == []


def test_a_hold_in_another_warehouse_is_not_the_allocation_of_a_zone_store(web, main, backup, tee):
    # Given a hold of 2 x TEE in the main warehouse, and 5 in the backup store
    receive(tee, main, 5)
    receive(tee, backup, 5)
    held(web, [StockLine(tee, 2)])

    # When an order that must leave from the backup store turns it into its allocation
    with transaction.atomic():
        stock_allocate_held(
            channel=web,
            holder="order:1",
            hold=HOLD,
            lines=[StockLine(tee, 2)],
            warehouse_id=backup.pk,
        )

    # Then its units come from the backup store, and the main warehouse's hold is gone
    allocation = Allocation.objects.get(holder="order:1")
    assert (allocation.stock_level.warehouse_id, allocation.quantity) == (backup.pk, 2)
    assert not Reservation.objects.exists()
    assert stock_check() == []
