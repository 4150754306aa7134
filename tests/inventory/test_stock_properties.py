"""Property: any sequence of stock workflows keeps the ledger, the counters and availability sound.

Each example builds its own channel, two SKUs and two warehouses inside a
transaction that is rolled back at the end, so examples never see each other.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backoffice.exceptions import DomainError
from inventory.models import Allocation, Reservation, StockLevel, StockMovement
from inventory.selectors import stock_check, stock_level_list
from inventory.services import (
    StockLine,
    reservations_purge_expired,
    stock_adjust,
    stock_allocate,
    stock_deallocate,
    stock_reserve,
    stock_set_on_hand,
    stock_ship,
)
from tests.factories import make_channel, make_product, make_warehouse
from tests.inventory.helpers import inventory_snapshot

pytestmark = pytest.mark.django_db

SKUS = ["A", "B"]
WAREHOUSES = ["w1", "w2"]
CARTS = ["cart:0", "cart:1", "cart:2"]
ORDERS = ["order:0", "order:1", "order:2"]

sku = st.sampled_from(SKUS)
warehouse = st.sampled_from(WAREHOUSES)
lines = st.lists(st.tuples(sku, st.integers(1, 4)), min_size=1, max_size=3)
receive = st.tuples(st.just("receive"), sku, warehouse, st.integers(1, 6))
reserve = st.tuples(st.just("reserve"), st.sampled_from(CARTS), lines)
allocate = st.tuples(st.just("allocate"), st.sampled_from(ORDERS), st.sampled_from(CARTS), lines)
# Receipts, holds and orders are drawn more often, so examples reach contended states.
steps = st.one_of(
    receive,
    receive,
    reserve,
    reserve,
    reserve,
    allocate,
    allocate,
    st.tuples(st.just("expire"), st.sampled_from(CARTS)),
    st.tuples(st.just("cancel"), st.sampled_from(ORDERS)),
    st.tuples(st.just("ship"), st.sampled_from(ORDERS), st.integers(1, 3)),
    st.tuples(st.just("adjust"), sku, warehouse, st.integers(-6, 6).filter(bool)),
    st.tuples(st.just("count"), sku, warehouse, st.integers(0, 8)),
    st.tuples(st.just("purge")),
)


class Rollback(Exception):
    """Raised at the end of each example to undo everything it wrote."""


class World:
    """The example's data, and the on_hand each level must have by our own arithmetic."""

    def __init__(self) -> None:
        self.channel = make_channel("web")
        self.warehouses = {
            code: make_warehouse(code, channels=[self.channel]) for code in WAREHOUSES
        }
        product = make_product(slug="p", skus=dict.fromkeys(SKUS, "1.00"), channels=[self.channel])
        self.variants = {v.sku: v for v in product.variants.all()}
        self.expected_on_hand: dict[tuple[str, str], int] = {}

    def stock_lines(self, raw: list[tuple[str, int]]) -> list[StockLine]:
        return [StockLine(self.variants[code], quantity) for code, quantity in raw]

    def run(self, step: tuple) -> None:
        """Apply one step; a refused step must leave everything as it was."""
        before = inventory_snapshot()
        try:
            self.apply(step)
        except DomainError:
            assert inventory_snapshot() == before, step

    def apply(self, step: tuple) -> None:
        kind, *args = step
        if kind == "receive":
            code, place, quantity = args
            stock_adjust(
                variant=self.variants[code],
                warehouse=self.warehouses[place],
                delta=quantity,
                reason=StockMovement.Reason.RECEIPT,
            )
            self.add(code, place, quantity)
        elif kind == "reserve":
            holder, raw = args
            stock_reserve(channel=self.channel, holder=holder, lines=self.stock_lines(raw))
        elif kind == "expire":
            (holder,) = args
            past = timezone.now() - timedelta(seconds=1)
            Reservation.objects.filter(holder=holder).update(expires_at=past)
        elif kind == "allocate":
            holder, cart, raw = args
            if Allocation.objects.filter(holder=holder).exists():
                return  # an order is placed once
            stock_allocate(
                channel=self.channel,
                holder=holder,
                lines=self.stock_lines(raw),
                reservation_holder=cart,
            )
        elif kind == "cancel":
            (holder,) = args
            stock_deallocate(holder=holder)
        elif kind == "ship":
            holder, most = args
            for allocation in Allocation.objects.filter(holder=holder).select_related(
                "stock_level__variant", "stock_level__warehouse"
            ):
                level = allocation.stock_level
                quantity = min(most, allocation.quantity)
                stock_ship(
                    holder=holder,
                    warehouse=level.warehouse,
                    lines=[StockLine(level.variant, quantity)],
                )
                self.add(level.variant.sku, level.warehouse.code, -quantity)
        elif kind == "adjust":
            code, place, delta = args
            stock_adjust(variant=self.variants[code], warehouse=self.warehouses[place], delta=delta)
            self.add(code, place, delta)
        elif kind == "count":
            code, place, on_hand = args
            stock_set_on_hand(
                variant=self.variants[code], warehouse=self.warehouses[place], on_hand=on_hand
            )
            self.expected_on_hand[(code, place)] = on_hand
        elif kind == "purge":
            reservations_purge_expired()

    def add(self, code: str, place: str, delta: int) -> None:
        key = (code, place)
        self.expected_on_hand[key] = self.expected_on_hand.get(key, 0) + delta

    def assert_invariants(self) -> None:
        for level in stock_level_list():
            key = (level.variant.sku, level.warehouse.code)
            ledger = level.movements.aggregate(total=Sum("delta"))["total"] or 0
            allocated = level.allocations.aggregate(total=Sum("quantity"))["total"] or 0
            assert level.on_hand == self.expected_on_hand.get(key, 0), key
            assert level.on_hand == ledger, key
            assert level.allocated == allocated, key
            assert 0 <= level.allocated <= level.on_hand, key
            assert level.on_hand - level.allocated - level.reserved >= 0, key
            assert level.available >= 0, key
        assert stock_check() == []


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(st.lists(steps, min_size=5, max_size=30))
def test_any_sequence_of_stock_workflows_keeps_every_invariant(db, sequence):
    try:
        with transaction.atomic():
            world = World()
            for step in sequence:
                world.run(step)
                world.assert_invariants()
            raise Rollback
    except Rollback:
        pass
    assert not StockLevel.objects.exists()
