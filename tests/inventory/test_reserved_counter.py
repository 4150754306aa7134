"""The units held counted on the stock row (`StockLevel.reserved_units`).

The counter is the sum of the level's reservation rows (expired ones not yet purged
included) after every path that writes holds; a hold past its expiry frees its units at
once for the next buyer, whose one-statement hold deletes it; concurrent one-statement
holds on one hot row never promise more than it has; the books check sees a counter off.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.db.models import Sum
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from inventory.available import channel_availability
from inventory.errors import InsufficientStock
from inventory.models import Reservation, StockLevel
from inventory.selectors import stock_check, stock_level_list
from inventory.services import (
    StockLine,
    allotment_reserve,
    allotment_transfer,
    reservations_purge_expired,
    stock_allocate,
    stock_allocate_held,
    stock_extend,
    stock_release,
    stock_reserve,
)
from tests.factories import receive
from tests.parallel import run_parallel

pytestmark = pytest.mark.django_db


def counters() -> dict[int, int]:
    return dict(StockLevel.objects.values_list("id", "reserved_units"))


def holds_per_level() -> dict[int, int]:
    totals = dict.fromkeys(StockLevel.objects.values_list("id", flat=True), 0)
    for level_id, total in (
        Reservation.objects.values("stock_level_id")
        .annotate(total=Sum("quantity"))
        .values_list("stock_level_id", "total")
    ):
        totals[level_id] = total
    return totals


def assert_counted() -> None:
    assert counters() == holds_per_level()
    assert stock_check() == []


def expire(holder: str) -> None:
    Reservation.objects.filter(holder=holder).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )


def hold(web, holder: str, lines) -> list[Reservation]:
    return stock_reserve(channel=web, holder=holder, lines=lines, ttl_seconds=300, fresh=True)


def test_an_expired_hold_not_yet_purged_frees_its_units_at_once(web, main, tee):
    receive(tee, main, 5)
    hold(web, "checkout:first", [StockLine(tee, 5)])
    assert channel_availability(channel=web, variant_ids=[tee.pk]) == {tee.pk: 0}

    expire("checkout:first")
    # Readers see the units free before anything is purged...
    assert channel_availability(channel=web, variant_ids=[tee.pk]) == {tee.pk: 5}
    assert stock_level_list().get().reserved == 0
    # ...and the next buyer's one-statement hold takes them, deleting the expired hold.
    hold(web, "checkout:second", [StockLine(tee, 5)])

    assert list(Reservation.objects.values_list("holder", "quantity")) == [("checkout:second", 5)]
    assert StockLevel.objects.get().reserved_units == 5
    assert_counted()


def test_a_refused_hold_still_purges_the_expired_holds_it_deleted(web, main, tee):
    receive(tee, main, 4)
    hold(web, "checkout:first", [StockLine(tee, 3)])
    expire("checkout:first")

    with pytest.raises(InsufficientStock) as refused:
        hold(web, "checkout:second", [StockLine(tee, 5)])

    assert refused.value.lines == [{"sku": "TEE", "requested": 5, "available": 4}]
    assert_counted()


def test_the_hold_is_one_statement_and_all_lines_or_none(web, main, tee, mug):
    receive(tee, main, 3)
    receive(mug, main, 1)
    with CaptureQueriesContext(connection) as queries:
        hold(web, "checkout:one", [StockLine(tee, 2), StockLine(mug, 1)])
    assert len(queries) == 1, [query["sql"] for query in queries]

    with pytest.raises(InsufficientStock) as refused:
        hold(web, "checkout:two", [StockLine(tee, 1), StockLine(mug, 1)])

    assert refused.value.lines == [{"sku": "MUG", "requested": 1, "available": 0}]
    assert not Reservation.objects.filter(holder="checkout:two").exists()
    assert StockLevel.objects.get(variant=tee).reserved_units == 2
    assert_counted()


def test_a_line_split_over_warehouses_is_held_by_the_locked_path(web, main, backup, tee):
    receive(tee, main, 2)
    receive(tee, backup, 2)

    held = hold(web, "checkout:split", [StockLine(tee, 3)])

    assert sorted(reservation.quantity for reservation in held) == [1, 2]
    assert sum(counters().values()) == 3
    assert_counted()


def test_the_counter_after_hold_conversion_release_expiry_and_replace(web, main, backup, tee):
    receive(tee, main, 10)
    receive(tee, backup, 10)
    hold(web, "checkout:a", [StockLine(tee, 4)])
    assert_counted()
    with transaction.atomic():  # the hold becomes the order's allocation
        stock_allocate_held(
            channel=web, holder="order:a", hold="checkout:a", lines=[StockLine(tee, 4)]
        )
    assert sum(counters().values()) == 0
    assert_counted()

    hold(web, "checkout:b", [StockLine(tee, 2)])
    assert stock_release(holder="checkout:b") == 2  # a refused PSP gives it back
    assert_counted()

    stock_reserve(channel=web, holder="cart:c", lines=[StockLine(tee, 3)])
    stock_reserve(channel=web, holder="cart:c", lines=[StockLine(tee, 12)])  # both warehouses
    assert sum(counters().values()) == 12
    assert_counted()
    stock_reserve(channel=web, holder="cart:c", lines=[StockLine(tee, 1)])  # back to one
    assert sum(counters().values()) == 1
    assert_counted()

    expire("cart:c")
    assert stock_extend(channel=web, holder="cart:c", seconds=60) is None
    assert reservations_purge_expired() == 1
    assert sum(counters().values()) == 0
    assert_counted()

    stock_reserve(channel=web, holder="cart:d", lines=[StockLine(tee, 2)])
    expire("cart:d")
    with transaction.atomic():  # a cart whose holds lapsed completes from what is free
        stock_allocate(
            channel=web, holder="order:d", lines=[StockLine(tee, 2)], reservation_holder="cart:d"
        )
    assert sum(counters().values()) == 0
    assert_counted()


def test_the_books_check_sees_a_counter_that_disagrees_with_the_holds(web, main, tee):
    receive(tee, main, 5)
    stock_reserve(channel=web, holder="cart:x", lines=[StockLine(tee, 2)])
    StockLevel.objects.update(reserved_units=3)

    (problem,) = stock_check()
    assert "reserved_units is 3, its reservations sum to 2" in problem


# --- Random sequences of every path --------------------------------------------------------
HOLDERS = ["cart:a", "cart:b", "link:l"]
operation = st.one_of(
    st.tuples(st.just("reserve"), st.sampled_from(HOLDERS), st.integers(0, 1), st.integers(1, 6)),
    st.tuples(st.just("hold"), st.integers(0, 1), st.integers(1, 6)),
    st.tuples(st.just("convert")),
    st.tuples(st.just("release"), st.sampled_from(HOLDERS)),
    st.tuples(st.just("release_line"), st.sampled_from(HOLDERS), st.integers(0, 1)),
    st.tuples(st.just("expire"), st.sampled_from([*HOLDERS, "checkout"])),
    st.tuples(st.just("extend"), st.sampled_from(HOLDERS)),
    st.tuples(st.just("purge")),
    st.tuples(st.just("complete"), st.sampled_from(HOLDERS)),
    st.tuples(st.just("allot"), st.integers(1, 4)),
    st.tuples(st.just("transfer"), st.sampled_from(["cart:a", "cart:b"]), st.integers(1, 3)),
)


class Rollback(Exception):
    """Undoes each example."""


def _run(web, variants, step, state) -> None:
    kind, *args = step
    if kind == "reserve":
        holder, variant, quantity = args
        stock_reserve(channel=web, holder=holder, lines=[StockLine(variants[variant], quantity)])
    elif kind == "hold":
        variant, quantity = args
        state["checkouts"] += 1
        name = f"checkout:{state['checkouts']}"
        hold(web, name, [StockLine(variants[variant], quantity)])
        state["held"][name] = [StockLine(variants[variant], quantity)]
    elif kind == "convert" and state["held"]:
        name, lines = state["held"].popitem()
        stock_allocate_held(channel=web, holder=f"order:{name}", hold=name, lines=lines)
    elif kind == "release":
        stock_release(holder=args[0])
    elif kind == "release_line":
        stock_release(holder=args[0], variant_ids=[variants[args[1]].pk])
    elif kind == "expire":
        Reservation.objects.filter(holder__startswith=args[0]).update(
            expires_at=timezone.now() - timedelta(seconds=1)
        )
    elif kind == "extend":
        stock_extend(channel=web, holder=args[0], seconds=600)
    elif kind == "purge":
        reservations_purge_expired()
    elif kind == "complete":
        state["orders"] += 1
        lines = [StockLine(variants[0], 1)]
        stock_allocate(
            channel=web, holder=f"order:{state['orders']}", lines=lines, reservation_holder=args[0]
        )
    elif kind == "allot":
        allotment_reserve(
            channel=web,
            holder="link:l",
            lines=[StockLine(variants[0], args[0])],
            until=timezone.now() + timedelta(hours=1),
        )
    elif kind == "transfer":
        allotment_transfer(
            source="link:l",
            target=args[0],
            lines=[StockLine(variants[0], args[1])],
            expires_at=timezone.now() + timedelta(minutes=10),
        )


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=st.lists(operation, min_size=1, max_size=12))
def test_the_counter_is_the_sum_of_the_holds_after_any_sequence(web, main, backup, tee, mug, steps):
    try:
        with transaction.atomic():
            for variant in (tee, mug):
                receive(variant, main, 6)
                receive(variant, backup, 4)
            state = {"checkouts": 0, "orders": 0, "held": {}}
            for step in steps:
                try:
                    with transaction.atomic():
                        _run(web, [tee, mug], step, state)
                except InsufficientStock:
                    pass
                except Exception as error:  # a refusal of the path itself (ValidationFailed)
                    if type(error).__name__ not in {"ValidationFailed"}:
                        raise
                assert counters() == holds_per_level(), step
                assert stock_check() == [], step
            raise Rollback
    except Rollback:
        pass


# --- One hot row, many buyers at once ------------------------------------------------------
@pytest.mark.django_db(transaction=True)
def test_concurrent_holds_on_one_hot_row_never_over_reserve(web, main, tee):
    receive(tee, main, 16)
    # Three holds that expired and were not purged: their 6 units are free for the buyers.
    for name in ("cart:x", "cart:y", "cart:z"):
        stock_reserve(channel=web, holder=name, lines=[StockLine(tee, 2)])
        expire(name)

    outcomes = run_parallel(30, lambda n: hold(web, f"checkout:{n}", [StockLine(tee, 1 + n % 2)]))

    held = [n for n, outcome in enumerate(outcomes) if isinstance(outcome, list)]
    refused = [outcome for outcome in outcomes if isinstance(outcome, InsufficientStock)]
    assert len(held) + len(refused) == 30, [o for o in outcomes if not isinstance(o, list)]
    units = sum(1 + n % 2 for n in held)
    assert 15 <= units <= 16  # every unit promised that could be, none twice
    level = StockLevel.objects.get()
    active = Reservation.objects.filter(expires_at__gt=timezone.now())
    assert active.aggregate(total=Sum("quantity"))["total"] == units
    assert level.on_hand - level.allocated - units >= 0
    assert_counted()
