"""The checkout's hold and its allocation as PostgreSQL functions (inventory.stock_functions),
on real parallel connections: each stock row taken by one conditional UPDATE in id order,
the expired holds purged only when a row is short, all rows or none."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.db.models import Sum
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from backoffice.outbox.models import OutboxEvent
from inventory import stock_functions
from inventory.errors import InsufficientStock
from inventory.models import Allocation, Reservation, StockLevel
from inventory.selectors import stock_check, stock_level_list
from inventory.services import StockLine, stock_allocate_hold, stock_reserve
from tests.factories import make_product, receive
from tests.inventory.helpers import run_in_threads

pytestmark = pytest.mark.django_db(transaction=True)


def errors_of(outcomes) -> list[type]:
    return [type(error) for _, error in outcomes if error is not None]


def hold(web, holder: str, lines: list[StockLine]):
    return stock_reserve(channel=web, holder=holder, lines=lines, fresh=True)


def expired_hold(web, holder: str, lines: list[StockLine]) -> None:
    stock_reserve(channel=web, holder=holder, lines=lines)
    Reservation.objects.filter(holder=holder).update(
        expires_at=timezone.now() - timedelta(minutes=1)
    )


def wait_until_someone_waits_for_a_lock() -> None:
    """Poll (from this thread's own connection) until a session waits for a row lock."""
    for _ in range(600):
        with connection.cursor() as cursor:
            # Inside a transaction the activity view is read once: read it afresh each time.
            cursor.execute("SELECT pg_stat_clear_snapshot()")
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock'"
            )
            if cursor.fetchone()[0]:
                return
        time.sleep(0.05)
    raise AssertionError("nobody waited for the lock")


def test_a_fresh_hold_and_its_allocation_are_one_call_each(web, main, tee):
    receive(tee, main, 10)

    with CaptureQueriesContext(connection) as queries:
        hold(web, "checkout:one", [StockLine(tee, 2)])
        stock_allocate_hold(channel=web, hold="checkout:one", lines=[StockLine(tee, 2)])

    statements = [query["sql"] for query in queries.captured_queries]
    assert len(statements) == 2, statements
    assert f"FROM {stock_functions.HOLD}(" in statements[0]
    assert f"FROM {stock_functions.ALLOCATE_HOLD}(" in statements[1]
    level = StockLevel.objects.get()
    assert (level.allocated, level.reserved_units) == (2, 0)
    assert Allocation.objects.get().holder == "checkout:one"
    assert stock_check() == []


def test_thirty_fresh_holds_racing_for_ten_units_hold_exactly_ten(web, main, tee):
    receive(tee, main, 10)

    outcomes = run_in_threads(
        [lambda n=n: hold(web, f"checkout:race-{n}", [StockLine(tee, 1)]) for n in range(30)]
    )

    assert sum(1 for _, error in outcomes if error is None) == 10
    assert errors_of(outcomes) == [InsufficientStock] * 20
    level = stock_level_list().get()
    assert (level.on_hand, level.reserved, level.available) == (10, 10, 0)
    assert Reservation.objects.aggregate(total=Sum("quantity"))["total"] == 10
    assert stock_check() == []


def test_fresh_multi_line_holds_in_opposite_orders_neither_deadlock_nor_oversell(
    web, main, backup, tee, mug
):
    cap = make_product(slug="cap", skus={"CAP": "9.00"}, channels=[web]).variants.get()
    for variant in (tee, mug, cap):
        receive(variant, main, 5)
    forward, backward = [tee, mug, cap], [cap, mug, tee]

    def checkout(n: int):
        variants = forward if n % 2 else backward
        holder = f"checkout:multi-{n}"
        hold(web, holder, [StockLine(variant, 1) for variant in variants])
        return stock_allocate_hold(
            channel=web, hold=holder, lines=[StockLine(variant, 1) for variant in variants]
        )

    outcomes = run_in_threads([lambda n=n: checkout(n) for n in range(20)])

    # A deadlock would be a DatabaseError here; only refusals, and exactly 5 sold.
    assert sum(1 for done, error in outcomes if error is None and done == 3) == 5
    assert errors_of(outcomes) == [InsufficientStock] * 15
    assert sorted(StockLevel.objects.values_list("allocated", "reserved_units")) == [(5, 0)] * 3
    assert stock_check() == []


def test_an_expired_hold_frees_its_units_through_the_fallback_of_a_short_row(web, main, tee):
    # Given 1 unit, held by a cart whose hold expired but was not purged yet
    receive(tee, main, 1)
    expired_hold(web, "cart:old", [StockLine(tee, 1)])
    assert StockLevel.objects.get().reserved_units == 1  # the counter still counts it

    # When a checkout holds it
    (reservation,) = hold(web, "checkout:late", [StockLine(tee, 1)])

    # Then the row, short by its counter, was purged of the expired hold under its lock
    assert list(Reservation.objects.values_list("holder", flat=True)) == ["checkout:late"]
    assert reservation.pk == Reservation.objects.get().pk
    assert StockLevel.objects.get().reserved_units == 1
    assert stock_check() == []


def test_a_row_with_units_to_spare_leaves_its_expired_holds_to_the_purge(web, main, tee):
    # Given 6 units, 1 of them in an expired hold not purged yet (threshold 5)
    receive(tee, main, 6)
    expired_hold(web, "cart:old", [StockLine(tee, 1)])

    # When a checkout holds 1: 6 available before, 5 after, not below the threshold
    hold(web, "checkout:one", [StockLine(tee, 1)])

    # Then the expired hold stays for the purge job, counted in the counter meanwhile
    assert sorted(Reservation.objects.values_list("holder", flat=True)) == [
        "cart:old",
        "checkout:one",
    ]
    level = stock_level_list().get()
    assert (level.reserved_units, level.reserved, level.available) == (2, 1, 5)
    assert stock_check() == []
    # And the stock.low event counts what is available, not the counter's view (5 -> 4)
    assert not OutboxEvent.objects.filter(type="stock.low").exists()
    hold(web, "checkout:two", [StockLine(tee, 1)])
    low = OutboxEvent.objects.get(type="stock.low")
    assert (low.data["available"], low.data["threshold"]) == (4, 5)


def test_a_multi_line_hold_short_on_its_second_row_under_the_lock_gives_back_the_first(
    web, main, tee, mug
):
    # Given a unit of each, and another transaction holding the mug's row (the higher id)
    receive(tee, main, 1)
    receive(mug, main, 1)
    tee_level, mug_level = StockLevel.objects.order_by("id")
    assert (tee_level.variant_id, mug_level.variant_id) == (tee.pk, mug.pk)
    locked = threading.Event()

    def other_takes_the_mug_meanwhile():
        with transaction.atomic():
            list(StockLevel.objects.select_for_update().filter(pk=mug_level.pk))
            locked.set()
            wait_until_someone_waits_for_a_lock()
            StockLevel.objects.filter(pk=mug_level.pk).update(allocated=1)

    def checkout_holding_both():
        locked.wait(timeout=30)
        return hold(web, "checkout:both", [StockLine(tee, 1), StockLine(mug, 1)])

    # When the checkout's hold waits for the mug's row, which is then sold to the other
    (_, other_error), (_, error) = run_in_threads(
        [other_takes_the_mug_meanwhile, checkout_holding_both]
    )

    # Then it holds nothing: the tee's counter it had raised is given back
    assert other_error is None
    assert isinstance(error, InsufficientStock)
    assert not Reservation.objects.exists()
    assert list(StockLevel.objects.order_by("id").values_list("reserved_units", flat=True)) == [
        0,
        0,
    ]
    Allocation.objects.create(stock_level_id=mug_level.pk, holder="order:other", quantity=1)
    assert stock_check() == []


def test_an_allocation_short_on_its_second_row_under_the_lock_allocates_nothing(
    web, main, tee, mug
):
    # Given a checkout's hold of a tee and a mug, the mug's row held by a stock count
    receive(tee, main, 1)
    receive(mug, main, 1)
    lines = [StockLine(tee, 1), StockLine(mug, 1)]
    hold(web, "checkout:both", lines)
    mug_level = StockLevel.objects.order_by("id").last()
    locked = threading.Event()

    def count_takes_the_mug_meanwhile():
        with transaction.atomic():
            list(StockLevel.objects.select_for_update().filter(pk=mug_level.pk))
            locked.set()
            wait_until_someone_waits_for_a_lock()
            StockLevel.objects.filter(pk=mug_level.pk).update(on_hand=0)

    def allocate_once_paid():
        locked.wait(timeout=30)
        return stock_allocate_hold(channel=web, hold="checkout:both", lines=lines)

    # When the allocation waits for the mug's row, whose unit is then counted away
    (_, count_error), (_, error) = run_in_threads(
        [count_takes_the_mug_meanwhile, allocate_once_paid]
    )

    # Then nothing is allocated (the tee it had raised given back) and the hold is gone
    assert count_error is None
    assert isinstance(error, InsufficientStock)
    assert not Allocation.objects.exists()
    assert not Reservation.objects.exists()
    assert list(
        StockLevel.objects.order_by("id").values_list("on_hand", "allocated", "reserved_units")
    ) == [(1, 0, 0), (0, 0, 0)]
