"""The forms of "a hold is active" and "available" agree on random data (real PostgreSQL).

`inventory.hold_active` and `inventory.available` each hold one rule in three forms: an
ORM expression, a SQL fragment and a Python predicate. Each example writes random stock
rows, holds (some expired, some expiring exactly now), warehouses that are active or not
and routes to the channel or not, asks every form, and rolls everything back.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backoffice.sql import fetch, placeholders, table
from catalog.models import ProductVariant
from inventory.available import (
    available_sql,
    available_units,
    channel_availability,
    channel_available_sql,
    free_units,
    reserved_by_level,
    stock_levels_with_availability,
)
from inventory.hold_active import hold_active_q, hold_active_sql, hold_is_active, holds_active
from inventory.models import Reservation, StockLevel, Warehouse, WarehouseChannel
from tests.factories import make_channel, make_product

pytestmark = pytest.mark.django_db

VARIANTS, WAREHOUSES, HOLDERS = 3, 3, ["cart:a", "cart:b", "link:c"]
NOW = timezone.now().replace(microsecond=0)

# A hold expiring before, exactly at, or after NOW (seconds from it).
expiry = st.sampled_from([-3600, -1, 0, 1, 3600])
level = st.tuples(st.integers(0, 20), st.integers(0, 20)).map(lambda pair: sorted(pair))
holds = st.lists(
    st.tuples(st.sampled_from(HOLDERS), st.integers(1, 15), expiry),
    max_size=3,
    unique_by=lambda hold: hold[0],
)
world = st.fixed_dictionaries(
    {
        # (variant, warehouse) -> ([allocated, on_hand], holds)
        "levels": st.dictionaries(
            st.tuples(st.integers(0, VARIANTS - 1), st.integers(0, WAREHOUSES - 1)),
            st.tuples(level, holds),
            max_size=VARIANTS * WAREHOUSES,
        ),
        "active": st.lists(st.booleans(), min_size=WAREHOUSES, max_size=WAREHOUSES),
        "routed": st.lists(st.booleans(), min_size=WAREHOUSES, max_size=WAREHOUSES),
        "holder": st.sampled_from([None, *HOLDERS]),
    }
)


class Rollback(Exception):
    """Undoes each example."""


@pytest.fixture
def shop(db):
    channel = make_channel("web")
    product = make_product(skus={f"V{n}": "1.00" for n in range(VARIANTS)}, channels=[channel])
    warehouses = [Warehouse.objects.create(code=f"w{n}", name=f"W{n}") for n in range(WAREHOUSES)]
    return channel, list(product.variants.order_by("sku")), warehouses


def _build(shop, data) -> dict[int, tuple[StockLevel, list[Reservation]]]:
    channel, variants, warehouses = shop
    for warehouse, active, routed in zip(warehouses, data["active"], data["routed"], strict=True):
        Warehouse.objects.filter(pk=warehouse.pk).update(active=active)
        if routed:
            WarehouseChannel.objects.create(warehouse=warehouse, channel=channel)
    built = {}
    for (variant, warehouse), ((allocated, on_hand), raw_holds) in data["levels"].items():
        row = StockLevel.objects.create(
            variant=variants[variant],
            warehouse=warehouses[warehouse],
            on_hand=on_hand,
            allocated=allocated,
        )
        reservations = [
            Reservation.objects.create(
                stock_level=row,
                holder=holder,
                quantity=quantity,
                expires_at=NOW + timedelta(seconds=seconds),
            )
            for holder, quantity, seconds in raw_holds
        ]
        # The counter the hold services keep: every reservation row of the level.
        row.reserved_units = sum(hold.quantity for hold in reservations)
        StockLevel.objects.filter(pk=row.pk).update(reserved_units=row.reserved_units)
        built[row.pk] = (row, reservations)
    return built


EXAMPLES = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@EXAMPLES
@given(data=world)
def test_the_forms_of_a_hold_is_active_agree(shop, data):
    try:
        with transaction.atomic():
            built = _build(shop, data)
            everyone = [hold for _, holds_of_level in built.values() for hold in holds_of_level]

            python = {hold.pk for hold in everyone if hold_is_active(hold, NOW)}
            orm = set(Reservation.objects.filter(hold_active_q(NOW)).values_list("pk", flat=True))
            active, params = hold_active_sql("r", NOW)
            query = f"SELECT r.id FROM {table(Reservation)} r WHERE {active}"  # noqa: S608
            sql = {row[0] for row in fetch(query, params)}
            joined = set(
                StockLevel.objects.filter(hold_active_q(NOW, prefix="reservations__"))
                .values_list("reservations__pk", flat=True)
                .distinct()
            )

            assert python == orm == sql == joined
            assert set(holds_active(NOW).values_list("pk", flat=True)) == python
            raise Rollback
    except Rollback:
        pass


@EXAMPLES
@given(data=world)
def test_the_forms_of_available_agree_per_level_and_per_channel(shop, data):
    channel, variants, warehouses = shop
    try:
        with transaction.atomic():
            built = _build(shop, data)

            # Python, from the rows in memory and the holds the Python predicate keeps
            reserved = {
                pk: sum(hold.quantity for hold in holds_of_level if hold_is_active(hold, NOW))
                for pk, (_, holds_of_level) in built.items()
            }
            python = {
                pk: available_units(
                    on_hand=row.on_hand, allocated=row.allocated, reserved=reserved[pk]
                )
                for pk, (row, _) in built.items()
            }
            # ORM
            orm = {
                row.pk: (row.reserved, row.available) for row in stock_levels_with_availability(NOW)
            }
            # SQL
            expression, params = available_sql("s", NOW)
            query = f"SELECT s.id, {expression} FROM {table(StockLevel)} s"  # noqa: S608
            sql = dict(fetch(query, params))
            # The reads under a lock: everyone's holds split by holder, then what is free
            others, own = reserved_by_level(list(built), data["holder"], NOW)
            split = {pk: others.get(pk, 0) + own.get(pk, 0) for pk in built}
            locked = {(row.variant_id, row.warehouse_id): row for row, _ in built.values()}

            assert orm == {pk: (reserved[pk], python[pk]) for pk in built}
            assert sql == python
            assert split == reserved
            assert free_units(locked, split) == python
            assert all(
                holder_units
                == sum(
                    hold.quantity
                    for hold in built[pk][1]
                    if hold.holder == data["holder"] and hold_is_active(hold, NOW)
                )
                for pk, holder_units in own.items()
            )

            # Per channel: the levels in the channel's active warehouses, summed per variant
            serving = {
                warehouse.pk
                for warehouse, active, routed in zip(
                    warehouses, data["active"], data["routed"], strict=True
                )
                if active and routed
            }
            expected = {variant.pk: 0 for variant in variants}
            for pk, (row, _) in built.items():
                if row.warehouse_id in serving:
                    expected[row.variant_id] += python[pk]
            assert (
                channel_availability(channel=channel, variant_ids=[v.pk for v in variants], now=NOW)
                == expected
            )
            # Per channel, as a column of a query over variants (checkout's variants_for_sale)
            column, column_params = channel_available_sql(
                channel=channel, variant_alias="v", now=NOW
            )
            per_variant = fetch(
                f"SELECT v.id, {column} FROM {table(ProductVariant)} v "  # noqa: S608
                f"WHERE v.id IN ({placeholders(len(variants))})",
                [*column_params, *[v.pk for v in variants]],
            )
            assert dict(per_variant) == expected
            raise Rollback
    except Rollback:
        pass
