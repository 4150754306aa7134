"""Which stock writes change a product's stock version (`catalog.stock_versions`): every
one that can change what a product page shows, and not a checkout's hold turned into its
allocation, which moves the same units from held to allocated.

Each test of a change that counts fails if the triggers skip it; the pages built from the
version are tested end to end in tests/catalog/test_store_cache.py.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from backoffice.versions.current import data_versions_read, item_versions
from catalog.models import Channel, ProductVariant
from catalog.stock_versions import HOLD_EXPIRY_MARGIN, KIND
from inventory.available import channel_availability
from inventory.models import Reservation, StockLevel, Warehouse
from inventory.services import (
    StockLine,
    allotment_reserve,
    allotment_transfer,
    reservations_purge_expired,
    stock_allocate_hold,
    stock_deallocate,
    stock_release,
    stock_reserve,
)
from tests.factories import make_channel, make_product, make_warehouse, receive

# Every statement commits by itself, as in production (the one-statement hold and its
# allocation run autocommitted).
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def web() -> Channel:
    return make_channel("web")


@pytest.fixture
def main(web) -> Warehouse:
    return make_warehouse("main", channels=[web])


@pytest.fixture
def tee(web, main) -> ProductVariant:
    variant = make_product(slug="tee", skus={"TEE": "10.00"}, channels=[web]).variants.get()
    receive(variant, main, 5)
    return variant


def version(variant: ProductVariant) -> int:
    return item_versions(KIND, [variant.product_id])[variant.product_id]


def available(web: Channel, variant: ProductVariant) -> int:
    return channel_availability(channel=web, variant_ids=[variant.pk])[variant.pk]


def checkout_hold(web: Channel, variant: ProductVariant, units: int, **options) -> str:
    holder = f"checkout:{timezone.now().timestamp()}"
    stock_reserve(
        channel=web, holder=holder, lines=[StockLine(variant, units)], fresh=True, **options
    )
    return holder


def test_a_checkout_hold_turned_into_its_allocation_leaves_the_stock_version(web, tee):
    holder = checkout_hold(web, tee, 2)
    held, shown = version(tee), available(web, tee)

    assert stock_allocate_hold(channel=web, hold=holder, lines=[StockLine(tee, 2)]) == 1

    # The same units, allocated instead of held: what a page shows has not changed.
    assert available(web, tee) == shown == 3
    assert StockLevel.objects.get().allocated == 2
    assert version(tee) == held


def test_a_checkout_hold_is_counted_and_its_release_too(web, tee):
    before = version(tee)
    holder = checkout_hold(web, tee, 2)
    held = version(tee)
    assert held != before

    stock_release(holder=holder)

    assert version(tee) != held
    assert available(web, tee) == 5


def test_a_hold_allocated_close_to_its_expiry_counts(web, tee):
    """A page built after the hold expired (its units free) while the allocation, which
    found it still active, waited for its commit, must not outlive that commit."""
    holder = checkout_hold(web, tee, 2)
    Reservation.objects.filter(holder=holder).update(
        expires_at=timezone.now() + HOLD_EXPIRY_MARGIN / 2
    )
    held = version(tee)

    stock_allocate_hold(channel=web, hold=holder, lines=[StockLine(tee, 2)])

    assert StockLevel.objects.get().allocated == 2
    assert version(tee) != held


def test_an_expired_hold_purged_by_a_new_hold_of_as_many_units_counts(web, tee):
    """The new hold leaves the row's counter as it was (2 units out, 2 in), yet takes 2
    units that a page showed as free."""
    first = checkout_hold(web, tee, 2)
    Reservation.objects.filter(holder=first).update(expires_at=timezone.now() - timedelta(1))
    assert available(web, tee) == 5
    expired = version(tee)

    checkout_hold(web, tee, 2)

    assert StockLevel.objects.get().reserved_units == 2
    assert not Reservation.objects.filter(holder=first).exists()
    assert available(web, tee) == 3
    assert version(tee) != expired


def test_the_purge_of_expired_holds_counts(web, tee):
    holder = checkout_hold(web, tee, 2)
    Reservation.objects.filter(holder=holder).update(expires_at=timezone.now() - timedelta(1))
    expired = version(tee)

    assert reservations_purge_expired() == 1

    assert version(tee) != expired
    assert available(web, tee) == 5


def _allot(web, variant, units: int) -> None:
    """A shop link's allotment of `units` of `variant`, held for two hours."""
    allotment_reserve(
        channel=web,
        holder="link:spring",
        lines=[StockLine(variant, units)],
        until=timezone.now() + timedelta(hours=2),
    )


def test_a_whole_allotment_moved_into_a_new_hold_counts(web, tee):
    """The units stay held, but until the cart's expiry instead of the link's: a page must
    not be kept until the link's."""
    _allot(web, tee, 2)
    allotted = version(tee)
    cart_expiry = timezone.now() + timedelta(minutes=15)

    allotment_transfer(
        source="link:spring", target="cart:a", lines=[StockLine(tee, 2)], expires_at=cart_expiry
    )

    assert list(Reservation.objects.values_list("holder", "quantity", "expires_at")) == [
        ("cart:a", 2, cart_expiry)
    ]
    assert StockLevel.objects.get().reserved_units == 2
    assert available(web, tee) == 3
    assert version(tee) != allotted


def test_part_of_an_allotment_moved_into_a_new_hold_counts(web, tee):
    _allot(web, tee, 3)
    allotted = version(tee)

    allotment_transfer(
        source="link:spring",
        target="cart:a",
        lines=[StockLine(tee, 1)],
        expires_at=timezone.now() + timedelta(minutes=15),
    )

    assert dict(Reservation.objects.values_list("holder", "quantity")) == {
        "link:spring": 2,
        "cart:a": 1,
    }
    assert version(tee) != allotted


def test_counted_units_and_allocations_count_and_a_touch_alone_does_not(web, tee):
    level = StockLevel.objects.get()
    before = version(tee)

    StockLevel.objects.filter(pk=level.pk).update(updated_at=timezone.now())
    assert version(tee) == before  # shown nowhere

    StockLevel.objects.filter(pk=level.pk).update(on_hand=7)
    counted = version(tee)
    assert counted != before

    StockLevel.objects.filter(pk=level.pk).update(allocated=1)
    allocated = version(tee)
    assert allocated != counted

    StockLevel.objects.filter(pk=level.pk).update(reserved_units=1)
    assert version(tee) != allocated


def test_an_order_cancelled_gives_back_its_allocation_and_counts(web, tee):
    holder = checkout_hold(web, tee, 2)
    stock_allocate_hold(channel=web, hold=holder, lines=[StockLine(tee, 2)])
    allocated = version(tee)

    assert stock_deallocate(holder=holder) == 2

    assert version(tee) != allocated
    assert available(web, tee) == 5


def test_a_stock_row_moved_to_another_variant_or_warehouse_counts(web, main, tee):
    mug = make_product(slug="mug", skus={"MUG": "5.00"}, channels=[web]).variants.get()
    level = StockLevel.objects.get()
    before = item_versions(KIND, [tee.product_id, mug.product_id])

    StockLevel.objects.filter(pk=level.pk).update(variant=mug)

    after = item_versions(KIND, [tee.product_id, mug.product_id])
    assert after[tee.product_id] != before[tee.product_id]
    assert after[mug.product_id] != before[mug.product_id]

    other = make_warehouse("other", channels=[web])
    moved = version(mug)
    StockLevel.objects.filter(pk=level.pk).update(warehouse=other)
    assert version(mug) != moved


def test_a_hold_whose_expiry_moves_counts(web, tee):
    holder = checkout_hold(web, tee, 2)
    held = version(tee)

    Reservation.objects.filter(holder=holder).update(expires_at=timezone.now() + timedelta(hours=1))

    assert version(tee) != held


def test_truncating_the_stock_tables_changes_the_whole_kind(web, tee):
    checkout_hold(web, tee, 1)
    for table in ("inventory_reservation", "inventory_stocklevel"):
        before = data_versions_read().get(KIND, 0)
        with connection.cursor() as cursor:
            cursor.execute(f"TRUNCATE {table} CASCADE")
        assert data_versions_read()[KIND] != before


def test_a_checkout_hold_counts_its_product_itself_and_runs_no_trigger_under_the_lock(web, tee):
    """The one-statement hold adds to its product's stock version before it locks the
    row, and marks itself counted: the stock row's trigger function is not called for
    its UPDATE (nothing but the UPDATE and the commit under the lock), yet the version
    changes. A write of the row by another statement still calls it."""
    from django.db import transaction

    before = version(tee)
    calls = (
        "SELECT COALESCE(pg_stat_get_xact_function_calls("
        "'versions_stock_inventory_stocklevel_items'::regproc), 0)"
    )
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL track_functions = 'pl'")
        checkout_hold(web, tee, 2)
        cursor.execute(calls)
        assert cursor.fetchone()[0] == 0
        StockLevel.objects.update(on_hand=9)
        cursor.execute(calls)
        assert cursor.fetchone()[0] == 1

    assert version(tee) != before
    assert available(web, tee) == 7


def test_the_statement_counted_by_itself_leaves_the_next_write_of_its_transaction_counted(web, tee):
    """The mark is the hold statement's own (its `statement_timestamp()`): a later
    statement of the same transaction writing the stock row is counted by the trigger."""
    from django.db import transaction

    with transaction.atomic():
        checkout_hold(web, tee, 2)
        with connection.cursor() as cursor:
            cursor.execute("SELECT current_setting('stock_versions.counted', true)")
            assert cursor.fetchone()[0]  # the hold marked itself
        held = version(tee)
        StockLevel.objects.update(on_hand=9)
        assert version(tee) != held
    assert available(web, tee) == 7
