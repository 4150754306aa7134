"""Stock under real parallel connections on PostgreSQL: no oversell, no deadlock, no lost update."""

from __future__ import annotations

import http.client
import json
import threading
import time
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from django.db import DatabaseError, connection, transaction
from django.db.models import Sum
from django.utils import timezone

from channels_api.models import ApiKey
from inventory.errors import InsufficientStock
from inventory.models import Allocation, Reservation, StockLevel, StockMovement
from inventory.selectors import stock_check, stock_level_list
from inventory.services import (
    StockLine,
    allocations_sweep_orphaned,
    reservations_purge_expired,
    stock_adjust,
    stock_allocate,
    stock_allocate_hold,
    stock_allocation_relabel,
    stock_deallocate,
    stock_reserve,
)
from tests.factories import make_key, make_product, receive
from tests.inventory.helpers import run_in_threads

pytestmark = pytest.mark.django_db(transaction=True)


def errors_of(outcomes) -> list[type]:
    return [type(error) for _, error in outcomes if error is not None]


def test_fifty_carts_racing_for_ten_units_get_exactly_ten(web, main, tee):
    receive(tee, main, 10)

    outcomes = run_in_threads(
        [
            lambda n=n: stock_reserve(channel=web, holder=f"cart:{n}", lines=[StockLine(tee, 1)])
            for n in range(50)
        ]
    )

    assert sum(1 for _, error in outcomes if error is None) == 10
    assert errors_of(outcomes) == [InsufficientStock] * 40
    level = stock_level_list().get()
    assert (level.on_hand, level.allocated, level.reserved, level.available) == (10, 0, 10, 0)
    assert Reservation.objects.count() == 10
    assert Reservation.objects.aggregate(total=Sum("quantity"))["total"] == 10
    assert stock_check() == []


def test_multi_line_orders_in_opposite_orders_neither_deadlock_nor_oversell(
    web, main, backup, tee, mug
):
    cap = make_product(slug="cap", skus={"CAP": "9.00"}, channels=[web]).variants.get()
    for variant in (tee, mug, cap):
        receive(variant, main, 5)
        receive(variant, backup, 5)

    def reserve(n: int):
        lines = [StockLine(tee, 1), StockLine(mug, 1), StockLine(cap, 1)]
        return stock_reserve(channel=web, holder=f"cart:{n}", lines=lines)

    def allocate(n: int):
        lines = [StockLine(cap, 1), StockLine(mug, 1), StockLine(tee, 1)]
        return stock_allocate(channel=web, holder=f"order:{n}", lines=lines)

    outcomes = run_in_threads([lambda n=n: (reserve if n % 2 else allocate)(n) for n in range(30)])

    assert sum(1 for _, error in outcomes if error is None) == 10
    assert errors_of(outcomes) == [InsufficientStock] * 20
    for variant in (tee, mug, cap):
        levels = stock_level_list().filter(variant=variant)
        held = sum(level.allocated + level.reserved for level in levels)
        assert held == 10, variant.sku
        assert sum(level.available for level in levels) == 0
    assert stock_check() == []


def test_parallel_receipts_into_a_new_stock_row_lose_no_update(web, main, tee):
    outcomes = run_in_threads(
        [
            lambda: stock_adjust(variant=tee, warehouse=main, delta=1, reason="receipt")
            for _ in range(20)
        ]
    )

    assert errors_of(outcomes) == []
    level = StockLevel.objects.get()
    assert level.on_hand == 20
    assert sorted(StockMovement.objects.values_list("on_hand_after", flat=True)) == list(
        range(1, 21)
    )
    assert stock_check() == []


def test_parallel_removals_never_go_below_what_is_held(web, main, tee):
    receive(tee, main, 12)
    stock_allocate(channel=web, holder="order:1", lines=[StockLine(tee, 2)])

    outcomes = run_in_threads(
        [lambda: stock_adjust(variant=tee, warehouse=main, delta=-1) for _ in range(20)]
    )

    assert sum(1 for _, error in outcomes if error is None) == 10
    assert [error.code for _, error in outcomes if error is not None] == ["stock_conflict"] * 10
    level = StockLevel.objects.get()
    assert (level.on_hand, level.allocated) == (2, 2)
    assert Allocation.objects.get().quantity == 2
    assert stock_check() == []


def test_parallel_cancels_of_one_order_release_its_units_once(web, main, tee):
    receive(tee, main, 10)
    stock_allocate(channel=web, holder="order:1", lines=[StockLine(tee, 4)])
    stock_allocate(channel=web, holder="order:2", lines=[StockLine(tee, 3)])

    outcomes = run_in_threads([lambda: stock_deallocate(holder="order:1") for _ in range(10)])

    assert errors_of(outcomes) == []
    assert sorted(result for result, _ in outcomes) == [0] * 9 + [4]
    level = StockLevel.objects.get()
    assert (level.on_hand, level.allocated) == (10, 3)
    assert list(Allocation.objects.values_list("holder", "quantity")) == [("order:2", 3)]
    assert stock_check() == []


def _post(base_url: str, path: str, key: str, body: dict, idempotency_key: str) -> tuple[int, dict]:
    """One real HTTP request on its own connection, retried like a careful client would.

    The test server's listen backlog is short, so some connections are reset under
    fifty at once; the Idempotency-Key makes the retry safe (a replay, never twice).
    """
    parts = urlsplit(base_url)
    headers = {
        "Authorization": f"Bearer {key}",
        "Content-Type": "application/json",
        "Idempotency-Key": idempotency_key,
    }
    for attempt in range(30):
        connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
        try:
            connection.request("POST", path, body=json.dumps(body), headers=headers)
            response = connection.getresponse()
            if response.status == 409 and response.getheader("Content-Type", "").startswith(
                "application/problem+json"
            ):
                payload = json.loads(response.read())
                if payload["code"] == "idempotency_key_in_use":
                    time.sleep(0.05 * (attempt + 1))
                    continue
                return response.status, payload
            return response.status, json.loads(response.read())
        except (ConnectionError, http.client.RemoteDisconnected):
            time.sleep(0.05 * (attempt + 1))
        finally:
            connection.close()
    raise AssertionError("no answer after 30 attempts")


def test_fifty_http_removals_of_ten_units_through_a_live_server(live_server, main, tee):
    receive(tee, main, 10)
    _, key = make_key(None, kind=ApiKey.Kind.SECRET)
    body = {"sku": "TEE", "warehouse": "main", "delta": -1, "reason": "sold at the market"}

    path = "/api/v1/admin/stock/adjustments"

    outcomes = run_in_threads(
        [lambda n=n: _post(live_server.url, path, key, body, f"sale-{n}") for n in range(50)]
    )

    assert errors_of(outcomes) == []
    statuses = sorted(status for (status, _), _ in outcomes)
    assert statuses == [201] * 10 + [409] * 40
    assert {body["code"] for (status, body), _ in outcomes if status == 409} == {"stock_conflict"}
    assert StockLevel.objects.get().on_hand == 0
    assert StockMovement.objects.filter(delta=-1, note="sold at the market").count() == 10
    assert stock_check() == []


def test_the_purge_skips_a_hold_another_transaction_is_deleting_and_never_waits(web, main, tee):
    # Given three lapsed holds, one of them locked by a checkout that has not committed yet
    receive(tee, main, 10)
    for holder in ("cart:busy", "cart:old-1", "cart:old-2"):
        stock_reserve(channel=web, holder=holder, lines=[StockLine(tee, 1)])
    Reservation.objects.update(expires_at=timezone.now() - timedelta(minutes=1))
    locked, release = threading.Event(), threading.Event()

    def checkout_holding_its_cart_hold():
        with transaction.atomic():
            list(Reservation.objects.select_for_update().filter(holder="cart:busy"))
            locked.set()
            release.wait(timeout=30)

    def purge_while_locked():
        locked.wait(timeout=30)
        try:
            return reservations_purge_expired()
        finally:
            release.set()  # a purge that waited for the lock gets here only after 30 s

    # When the purge runs meanwhile
    (_, error), (deleted, purge_error) = run_in_threads(
        [checkout_holding_its_cart_hold, purge_while_locked]
    )

    # Then it removed the two free holds without waiting for the locked one (a purge that
    # waited would have found it free after the checkout's 30 s and removed three)
    assert (error, purge_error) == (None, None)
    assert deleted == 2
    assert list(Reservation.objects.values_list("holder", flat=True)) == ["cart:busy"]
    # And the next run takes it
    assert reservations_purge_expired() == 1


def test_a_cart_completed_from_a_zone_store_locks_its_holds_elsewhere_in_id_order(
    web, main, backup, tee
):
    # Given a cart holding 1 TEE in the main warehouse (the lower stock row id), and an
    # order for it that must leave from the backup store (an on-demand delivery's zone)
    receive(tee, main, 5)
    receive(tee, backup, 5)
    stock_reserve(channel=web, holder="cart:zone", lines=[StockLine(tee, 1)])
    low, high = StockLevel.objects.order_by("id").values_list("id", flat=True)
    assert StockLevel.objects.get(pk=low).warehouse_id == main.pk
    locked, release = threading.Event(), threading.Event()
    seen = {}

    def other_checkout_holding_the_main_row():
        with transaction.atomic():
            list(StockLevel.objects.select_for_update().filter(pk=low))
            locked.set()
            release.wait(timeout=30)

    def cart_complete_from_the_zone_store():
        locked.wait(timeout=30)
        with transaction.atomic():
            return stock_allocate(
                channel=web,
                holder="order:zone",
                lines=[StockLine(tee, 1)],
                reservation_holder="cart:zone",
                warehouse_id=backup.pk,
            )

    def probe_the_backup_row_once_the_cart_waits():
        try:
            locked.wait(timeout=30)
            for _ in range(600):  # until the completion waits for the main row's lock
                with connection.cursor() as cursor:
                    cursor.execute(
                        "SELECT count(*) FROM pg_stat_activity WHERE datname = "
                        "current_database() AND wait_event_type = 'Lock'"
                    )
                    if cursor.fetchone()[0]:
                        break
                time.sleep(0.05)
            # A completion that took the backup row (higher id) before it waits for the
            # main row (lower id) would deadlock with a checkout locking both in id order.
            try:
                with transaction.atomic():
                    list(StockLevel.objects.select_for_update(nowait=True).filter(pk=high))
                seen["backup row free"] = True
            except DatabaseError:
                seen["backup row free"] = False
        finally:
            release.set()

    # When the cart completes while another checkout holds the main row
    outcomes = run_in_threads(
        [
            other_checkout_holding_the_main_row,
            cart_complete_from_the_zone_store,
            probe_the_backup_row_once_the_cart_waits,
        ]
    )

    # Then it waited for the main row before it took the backup one (the lock order)
    assert [error for _, error in outcomes] == [None, None, None]
    assert seen == {"backup row free": True}
    # And the order took the backup store's unit, the cart's hold in main is gone
    allocation = Allocation.objects.get(holder="order:zone")
    assert (allocation.stock_level_id, allocation.quantity) == (high, 1)
    assert not Reservation.objects.exists()
    assert stock_check() == []


def test_the_sweep_skips_an_allocation_a_checkout_is_relabelling_and_never_waits(
    web, main, backup, tee
):
    # Given two checkouts' allocations, old enough to sweep, one over both warehouses
    receive(tee, main, 5)
    receive(tee, backup, 5)
    for hold, units in (("checkout:placing", 7), ("checkout:dead", 1)):
        stock_reserve(channel=web, holder=hold, lines=[StockLine(tee, units)], fresh=True)
        stock_allocate_hold(channel=web, hold=hold, lines=[StockLine(tee, units)])
    Allocation.objects.update(created_at=timezone.now() - timedelta(hours=1))
    relabelled, release = threading.Event(), threading.Event()

    def checkout_relabelling_in_its_orders_transaction():
        with transaction.atomic():
            done = stock_allocation_relabel(hold="checkout:placing", holder="order:1")
            relabelled.set()
            release.wait(timeout=30)
        return done

    def sweep_meanwhile():
        relabelled.wait(timeout=30)
        try:
            return allocations_sweep_orphaned(older_than=timedelta(minutes=10))
        finally:
            release.set()  # a sweep that waited for the rows gets here only after 30 s

    # When the sweep runs while the checkout's transaction holds its rows
    (done, error), (freed, sweep_error) = run_in_threads(
        [checkout_relabelling_in_its_orders_transaction, sweep_meanwhile]
    )

    # Then the sweep gave back only the dead checkout's unit, without waiting, and the
    # committed relabel kept all of the placing checkout's (two rows, both warehouses)
    assert (error, sweep_error) == (None, None)
    assert (done, freed) == (2, 1)
    assert sorted(Allocation.objects.values_list("holder", "quantity")) == [
        ("order:1", 2),
        ("order:1", 5),
    ]
    assert StockLevel.objects.aggregate(Sum("allocated"))["allocated__sum"] == 7
    assert StockLevel.objects.aggregate(Sum("reserved_units"))["reserved_units__sum"] == 0
    # And the next sweep finds nothing: the rows are the order's
    assert allocations_sweep_orphaned(older_than=timedelta(minutes=10)) == 0
    assert stock_check() == []


def test_a_relabel_after_the_sweep_finds_nothing_and_the_order_allocates_afresh(web, main, tee):
    receive(tee, main, 3)
    stock_reserve(channel=web, holder="checkout:slow", lines=[StockLine(tee, 2)], fresh=True)
    assert stock_allocate_hold(channel=web, hold="checkout:slow", lines=[StockLine(tee, 2)]) == 1
    Allocation.objects.update(created_at=timezone.now() - timedelta(hours=1))

    assert allocations_sweep_orphaned(older_than=timedelta(minutes=10)) == 2
    with transaction.atomic():
        assert stock_allocation_relabel(hold="checkout:slow", holder="order:9") == 0
        stock_allocate(channel=web, holder="order:9", lines=[StockLine(tee, 2)])

    assert list(Allocation.objects.values_list("holder", "quantity")) == [("order:9", 2)]
    assert StockLevel.objects.get(variant=tee).allocated == 2
    assert stock_check() == []


def test_checkouts_racing_for_ten_units_allocate_exactly_ten(web, main, tee):
    receive(tee, main, 10)

    def checkout(n: int):
        hold = f"checkout:race-{n}"
        stock_reserve(channel=web, holder=hold, lines=[StockLine(tee, 1)], fresh=True)
        stock_allocate_hold(channel=web, hold=hold, lines=[StockLine(tee, 1)])
        with transaction.atomic():
            return stock_allocation_relabel(hold=hold, holder=f"order:{n}")

    outcomes = run_in_threads([lambda n=n: checkout(n) for n in range(30)])

    assert sum(1 for done, error in outcomes if done == 1) == 10
    assert set(errors_of(outcomes)) == {InsufficientStock}
    assert Allocation.objects.filter(holder__startswith="order:").count() == 10
    assert StockLevel.objects.get(variant=tee).allocated == 10
    assert stock_check() == []
