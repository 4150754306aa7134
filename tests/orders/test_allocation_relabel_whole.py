"""A checkout's allocation goes to its order whole or not at all: the orphan sweep takes a
holder only whole, so the order's relabel (`stock_allocation_relabel`) finds all of its
rows or none, and the order's holder never meets a row of its own on the same level (the
unique (stock_level, holder) constraint, a 500 if it did)."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from inventory.models import Allocation, StockLevel
from inventory.selectors import stock_check
from inventory.services import (
    StockLine,
    allocations_sweep_orphaned,
    stock_allocate,
    stock_allocate_hold,
    stock_allocation_relabel,
    stock_reserve,
)
from tests.factories import make_product, make_warehouse, receive
from tests.inventory.helpers import run_in_threads

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def tee(web):
    return make_product(slug="tee", skus={"TEE": "19.99"}, channels=[web]).variants.get()


@pytest.fixture
def two_stores(web, tee):
    """TEE: 5 in `main`, 5 in `backup` (lower priority)."""
    main = make_warehouse("main", channels=[web])
    backup = make_warehouse("backup", channels=[web])
    receive(tee, main, 5)
    receive(tee, backup, 5)
    return main, backup


def _allocated_over_both(web, tee, hold: str = "checkout:placing") -> None:
    stock_reserve(channel=web, holder=hold, lines=[StockLine(tee, 7)], fresh=True)
    assert stock_allocate_hold(channel=web, hold=hold, lines=[StockLine(tee, 7)]) == 2


def _allocated() -> int:
    return StockLevel.objects.aggregate(Sum("allocated"))["allocated__sum"]


def test_the_sweep_takes_none_of_a_holder_one_of_whose_levels_is_locked(web, tee, two_stores):
    # Given an old checkout allocation over both stores, and another checkout holding the
    # backup store's stock row
    _, backup = two_stores
    _allocated_over_both(web, tee)
    Allocation.objects.update(created_at=timezone.now() - timedelta(hours=1))
    backup_level = StockLevel.objects.get(warehouse=backup).pk
    locked, release = threading.Event(), threading.Event()

    def another_checkout_holding_the_backup_row():
        with transaction.atomic():
            list(StockLevel.objects.select_for_update().filter(pk=backup_level))
            locked.set()
            release.wait(timeout=30)

    def sweep_meanwhile():
        locked.wait(timeout=30)
        try:
            return allocations_sweep_orphaned(older_than=timedelta(minutes=10))
        finally:
            release.set()

    # When the sweep runs meanwhile
    (_, error), (freed, sweep_error) = run_in_threads(
        [another_checkout_holding_the_backup_row, sweep_meanwhile]
    )

    # Then it gave back no part of the holder (not the main store's row it could lock)
    assert (error, sweep_error, freed) == (None, None, 0)
    # And the order's relabel then takes every row: nothing to allocate afresh, no clash
    with transaction.atomic():
        assert stock_allocation_relabel(hold="checkout:placing", holder="order:1") == 2
    assert sorted(Allocation.objects.values_list("holder", "quantity")) == [
        ("order:1", 2),
        ("order:1", 5),
    ]
    assert _allocated() == 7
    assert stock_check() == []


def test_a_holder_whose_rows_straddle_the_cutoff_is_swept_whole_or_not_at_all(web, tee, two_stores):
    # Given a checkout allocation with one row older than the sweep's cutoff and one newer
    # (its rows are written by one statement today; the sweep must not rely on it)
    main, _ = two_stores
    _allocated_over_both(web, tee)
    Allocation.objects.filter(stock_level__warehouse=main).update(
        created_at=timezone.now() - timedelta(hours=1)
    )

    # When the sweep runs, then the checkout's order is placed
    freed = allocations_sweep_orphaned(older_than=timedelta(minutes=10))
    with transaction.atomic():
        relabelled = stock_allocation_relabel(hold="checkout:placing", holder="order:1")
        if relabelled != 2:  # swept meanwhile: the order allocates afresh, as checkout does
            stock_allocate(channel=web, holder="order:1", lines=[StockLine(tee, 7)])

    # Then the holder was kept whole: the relabel took both rows, with no clash
    assert (freed, relabelled) == (0, 2)
    assert sorted(Allocation.objects.values_list("holder", "quantity")) == [
        ("order:1", 2),
        ("order:1", 5),
    ]
    assert _allocated() == 7
    assert stock_check() == []
