"""Stock workflows: reserve, expire, allocate, cancel, ship, adjust, count, route, stock.low."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from backoffice.exceptions import ValidationFailed
from backoffice.outbox.models import OutboxEvent
from inventory.available import channel_availability
from inventory.errors import InsufficientStock, StockConflict
from inventory.models import Allocation, Reservation, StockLevel, StockMovement
from inventory.selectors import stock_check, stock_level_list
from inventory.services import (
    StockLine,
    stock_adjust,
    stock_allocate,
    stock_deallocate,
    stock_extend,
    stock_release,
    stock_reserve,
    stock_set_on_hand,
    stock_ship,
)
from tests.factories import make_channel, make_warehouse, receive
from tests.inventory.helpers import inventory_snapshot

pytestmark = pytest.mark.django_db


def level_of(variant, warehouse) -> StockLevel:
    return stock_level_list().get(variant=variant, warehouse=warehouse)


def test_reserve_holds_units_and_available_drops(web, main, tee):
    receive(tee, main, 10)

    reservations = stock_reserve(channel=web, holder="cart:1", lines=[StockLine(tee, 3)])

    assert [(r.quantity, r.holder) for r in reservations] == [(3, "cart:1")]
    level = level_of(tee, main)
    assert (level.on_hand, level.allocated, level.reserved, level.available) == (10, 0, 3, 7)
    assert channel_availability(channel=web, variant_ids=[tee.pk]) == {tee.pk: 7}


def test_reservation_uses_the_channel_ttl(web, main, tee):
    receive(tee, main, 10)
    before = timezone.now()

    (reservation,) = stock_reserve(channel=web, holder="cart:1", lines=[StockLine(tee, 1)])

    assert before + timedelta(seconds=900) <= reservation.expires_at
    assert reservation.expires_at <= timezone.now() + timedelta(seconds=900)


def test_pos_channel_checks_stock_but_holds_nothing(tee, main):
    pos = make_channel("pos", kind="pos")
    main.channels.add(pos)
    receive(tee, main, 2)

    before = inventory_snapshot()

    assert stock_reserve(channel=pos, holder="sale:1", lines=[StockLine(tee, 2)]) == []
    with pytest.raises(InsufficientStock):
        stock_reserve(channel=pos, holder="sale:2", lines=[StockLine(tee, 3)])

    assert inventory_snapshot() == before


def test_reserving_more_than_available_refuses_every_line_and_changes_nothing(web, main, tee, mug):
    receive(tee, main, 2)
    receive(mug, main, 50)
    stock_reserve(channel=web, holder="cart:1", lines=[StockLine(tee, 1)])
    before = inventory_snapshot()

    with pytest.raises(InsufficientStock) as caught:
        stock_reserve(channel=web, holder="cart:2", lines=[StockLine(mug, 5), StockLine(tee, 2)])

    assert caught.value.lines == [{"sku": "TEE", "requested": 2, "available": 1}]
    assert inventory_snapshot() == before


def test_non_positive_quantity_is_invalid_and_changes_nothing(web, main, tee):
    receive(tee, main, 5)
    before = inventory_snapshot()
    with pytest.raises(ValidationFailed):
        stock_reserve(channel=web, holder="cart:1", lines=[StockLine(tee, 0)])
    assert inventory_snapshot() == before


def test_reserving_again_replaces_the_holders_earlier_hold(web, main, tee):
    receive(tee, main, 10)
    stock_reserve(channel=web, holder="cart:1", lines=[StockLine(tee, 3)])

    stock_reserve(channel=web, holder="cart:1", lines=[StockLine(tee, 8)])

    assert list(Reservation.objects.values_list("holder", "quantity")) == [("cart:1", 8)]
    assert level_of(tee, main).available == 2


def test_expired_reservations_stop_counting_at_once(web, main, tee):
    receive(tee, main, 5)
    stock_reserve(channel=web, holder="cart:1", lines=[StockLine(tee, 5)])
    assert level_of(tee, main).available == 0

    Reservation.objects.update(expires_at=timezone.now() - timedelta(seconds=1))

    level = level_of(tee, main)
    assert (level.reserved, level.available) == (0, 5)
    (other,) = stock_reserve(channel=web, holder="cart:2", lines=[StockLine(tee, 5)])
    assert other.quantity == 5


def test_release_frees_the_holders_units(web, main, tee):
    receive(tee, main, 5)
    stock_reserve(channel=web, holder="cart:1", lines=[StockLine(tee, 4)])

    assert stock_release(holder="cart:1") == 4

    assert not Reservation.objects.exists()
    assert level_of(tee, main).available == 5


def test_extend_moves_active_holds_and_not_expired_ones(web, main, tee):
    receive(tee, main, 5)
    stock_reserve(channel=web, holder="cart:1", lines=[StockLine(tee, 1)])

    expires_at = stock_extend(channel=web, holder="cart:1", seconds=99999)

    assert expires_at is not None
    assert expires_at <= timezone.now() + timedelta(seconds=web.reservation_max_seconds)
    assert Reservation.objects.get().expires_at == expires_at
    Reservation.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    assert stock_extend(channel=web, holder="cart:1", seconds=60) is None


def test_routing_prefers_one_warehouse_that_covers_the_line(web, main, backup, tee):
    receive(tee, main, 2)
    receive(tee, backup, 5)

    (reservation,) = stock_reserve(channel=web, holder="cart:1", lines=[StockLine(tee, 4)])

    assert reservation.stock_level.warehouse == backup


def test_routing_splits_a_line_no_single_warehouse_covers(web, main, backup, tee):
    receive(tee, main, 3)
    receive(tee, backup, 3)

    stock_reserve(channel=web, holder="cart:1", lines=[StockLine(tee, 5)])

    held = dict(Reservation.objects.values_list("stock_level__warehouse__code", "quantity"))
    assert held == {"main": 3, "backup": 2}


def test_warehouses_not_serving_the_channel_are_ignored(web, main, tee):
    elsewhere = make_warehouse("elsewhere")
    receive(tee, elsewhere, 100)
    before = inventory_snapshot()

    with pytest.raises(InsufficientStock) as caught:
        stock_reserve(channel=web, holder="cart:1", lines=[StockLine(tee, 1)])

    assert caught.value.lines == [{"sku": "TEE", "requested": 1, "available": 0}]
    assert inventory_snapshot() == before


def test_allocate_turns_the_carts_reservation_into_an_allocation(web, main, tee):
    receive(tee, main, 10)
    stock_reserve(channel=web, holder="cart:1", lines=[StockLine(tee, 3)])

    stock_allocate(
        channel=web, holder="order:1", lines=[StockLine(tee, 3)], reservation_holder="cart:1"
    )

    assert not Reservation.objects.exists()
    assert list(Allocation.objects.values_list("holder", "quantity")) == [("order:1", 3)]
    level = level_of(tee, main)
    assert (level.on_hand, level.allocated, level.reserved, level.available) == (10, 3, 0, 7)


def test_allocate_uses_the_carts_own_hold_even_when_nothing_else_is_free(web, main, tee):
    receive(tee, main, 3)
    stock_reserve(channel=web, holder="cart:1", lines=[StockLine(tee, 3)])

    stock_allocate(
        channel=web, holder="order:1", lines=[StockLine(tee, 3)], reservation_holder="cart:1"
    )

    assert level_of(tee, main).allocated == 3


def test_allocate_after_the_hold_expired_takes_what_is_still_free(web, main, tee):
    receive(tee, main, 3)
    stock_reserve(channel=web, holder="cart:1", lines=[StockLine(tee, 2)])
    Reservation.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    stock_reserve(channel=web, holder="cart:2", lines=[StockLine(tee, 2)])
    before = inventory_snapshot()

    with pytest.raises(InsufficientStock) as caught:
        stock_allocate(
            channel=web, holder="order:1", lines=[StockLine(tee, 2)], reservation_holder="cart:1"
        )

    assert caught.value.lines == [{"sku": "TEE", "requested": 2, "available": 1}]
    assert inventory_snapshot() == before


def test_cancel_releases_allocations(web, main, tee):
    receive(tee, main, 10)
    stock_allocate(channel=web, holder="order:1", lines=[StockLine(tee, 4)])

    assert stock_deallocate(holder="order:1") == 4

    assert not Allocation.objects.exists()
    level = level_of(tee, main)
    assert (level.on_hand, level.allocated, level.available) == (10, 0, 10)


def test_cancelling_twice_releases_once(web, main, tee):
    receive(tee, main, 10)
    stock_allocate(channel=web, holder="order:1", lines=[StockLine(tee, 4)])
    stock_allocate(channel=web, holder="order:2", lines=[StockLine(tee, 2)])

    assert stock_deallocate(holder="order:1") == 4
    assert stock_deallocate(holder="order:1") == 0

    assert level_of(tee, main).allocated == 2
    assert stock_check() == []


def test_ship_takes_units_out_of_on_hand_and_allocated_with_a_ledger_line(web, main, tee):
    receive(tee, main, 10)
    stock_allocate(channel=web, holder="order:1", lines=[StockLine(tee, 4)])

    (movement,) = stock_ship(
        holder="order:1", warehouse=main, lines=[StockLine(tee, 3)], actor="3pl", reference="F-1"
    )

    assert (movement.delta, movement.on_hand_after, movement.reason) == (-3, 7, "sale")
    assert (movement.actor, movement.reference) == ("3pl", "F-1")
    level = level_of(tee, main)
    assert (level.on_hand, level.allocated, level.available) == (7, 1, 6)
    assert list(Allocation.objects.values_list("quantity", flat=True)) == [1]
    assert stock_check() == []


def test_shipping_more_than_allocated_is_a_conflict_and_changes_nothing(web, main, tee):
    receive(tee, main, 10)
    stock_allocate(channel=web, holder="order:1", lines=[StockLine(tee, 2)])
    before = inventory_snapshot()

    with pytest.raises(StockConflict):
        stock_ship(holder="order:1", warehouse=main, lines=[StockLine(tee, 3)])

    assert inventory_snapshot() == before


def test_adjust_writes_a_ledger_line_with_reason_actor_and_note(main, tee):
    movement = stock_adjust(
        variant=tee,
        warehouse=main,
        delta=7,
        reason=StockMovement.Reason.RECEIPT,
        actor="api_key:sk_x",
        reference="PO-9",
        note="pallet 3",
    )

    stored = StockMovement.objects.get()
    assert stored == movement
    assert (stored.delta, stored.on_hand_after, stored.reason) == (7, 7, "receipt")
    assert (stored.actor, stored.reference, stored.note) == ("api_key:sk_x", "PO-9", "pallet 3")
    assert level_of(tee, main).on_hand == 7


def test_removing_stock_below_what_is_held_is_a_conflict_and_changes_nothing(web, main, tee):
    receive(tee, main, 10)
    stock_allocate(channel=web, holder="order:1", lines=[StockLine(tee, 4)])
    stock_reserve(channel=web, holder="cart:1", lines=[StockLine(tee, 3)])
    before = inventory_snapshot()

    with pytest.raises(StockConflict) as caught:
        stock_adjust(variant=tee, warehouse=main, delta=-4)

    assert caught.value.extra == {"sku": "TEE", "warehouse": "main", "on_hand": 10, "held": 7}
    assert inventory_snapshot() == before


def test_removing_from_a_missing_stock_row_leaves_no_row_behind(main, tee):
    before = inventory_snapshot()

    with pytest.raises(StockConflict):
        stock_adjust(variant=tee, warehouse=main, delta=-1)

    assert inventory_snapshot() == before
    assert not StockLevel.objects.exists()


@pytest.mark.parametrize(
    ("delta", "reason", "field"),
    [(0, "adjustment", "delta"), (1, "theft", "reason"), (1_000_000_001, "adjustment", "delta")],
)
def test_bad_adjustments_are_invalid_and_change_nothing(main, tee, delta, reason, field):
    receive(tee, main, 5)
    before = inventory_snapshot()

    with pytest.raises(ValidationFailed) as caught:
        stock_adjust(variant=tee, warehouse=main, delta=delta, reason=reason)

    assert list(caught.value.errors) == [field]
    assert inventory_snapshot() == before


def test_stocktake_records_the_difference(main, tee):
    receive(tee, main, 10)

    movement = stock_set_on_hand(variant=tee, warehouse=main, on_hand=6, note="cycle count")

    assert (movement.delta, movement.on_hand_after, movement.reason) == (-4, 6, "stocktake")
    assert movement.note == "cycle count"
    assert stock_set_on_hand(variant=tee, warehouse=main, on_hand=6) is None
    assert StockMovement.objects.count() == 2


def test_stocktake_below_held_or_negative_is_refused_and_changes_nothing(web, main, tee):
    receive(tee, main, 10)
    stock_allocate(channel=web, holder="order:1", lines=[StockLine(tee, 4)])
    before = inventory_snapshot()

    with pytest.raises(StockConflict):
        stock_set_on_hand(variant=tee, warehouse=main, on_hand=3)
    with pytest.raises(ValidationFailed):
        stock_set_on_hand(variant=tee, warehouse=main, on_hand=-1)

    assert inventory_snapshot() == before


def low_stock_events() -> list[dict]:
    return list(
        OutboxEvent.objects.filter(type="stock.low")
        .order_by("sequence")
        .values_list("data", flat=True)
    )


def test_falling_below_the_threshold_records_one_stock_low_event(web, main, tee):
    receive(tee, main, 10)
    level = StockLevel.objects.get()

    stock_reserve(channel=web, holder="cart:1", lines=[StockLine(tee, 5)])  # 5 left: not below
    assert low_stock_events() == []
    stock_reserve(channel=web, holder="cart:2", lines=[StockLine(tee, 1)])  # 4 left: below 5
    stock_reserve(channel=web, holder="cart:3", lines=[StockLine(tee, 1)])  # still below

    assert low_stock_events() == [
        {"sku": "TEE", "warehouse_id": main.pk, "available": 4, "threshold": 5}
    ]
    event = OutboxEvent.objects.get(type="stock.low")
    assert (event.aggregate, event.sequence) == (f"stock:{level.pk}", 1)


def test_stock_low_is_recorded_again_after_a_restock(web, main, tee):
    receive(tee, main, 5)
    stock_adjust(variant=tee, warehouse=main, delta=-1)  # 4: below
    receive(tee, main, 10)  # 14: above again
    stock_adjust(variant=tee, warehouse=main, delta=-12)  # 2: below again

    assert [event["available"] for event in low_stock_events()] == [4, 2]


def test_changing_a_carts_quantity_does_not_record_stock_low_again(web, main, tee):
    receive(tee, main, 10)
    stock_reserve(channel=web, holder="cart:1", lines=[StockLine(tee, 6)])  # 4: below
    assert len(low_stock_events()) == 1

    stock_reserve(channel=web, holder="cart:1", lines=[StockLine(tee, 7)])  # 3: still below

    assert len(low_stock_events()) == 1


def test_placing_the_order_of_a_reserved_cart_does_not_record_stock_low_again(web, main, tee):
    receive(tee, main, 10)
    stock_reserve(channel=web, holder="cart:1", lines=[StockLine(tee, 6)])  # 4: below
    assert len(low_stock_events()) == 1

    stock_allocate(
        channel=web, holder="order:1", lines=[StockLine(tee, 6)], reservation_holder="cart:1"
    )

    assert len(low_stock_events()) == 1
