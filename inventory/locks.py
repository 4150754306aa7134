"""Row locks of inventory: stock levels, always in id order, and expired holds for the purge.

Stock levels come late in the one lock order of the whole system (docs/architecture.md,
"Lock order"): after every sale, cart, order, voucher and link row a workflow locks, and
before the allocations and reservations that hang off them. Among themselves they are
taken in ascending id, in one statement where the rows are known at once; rows created
on the way (a count into a warehouse that never held the SKU) come after the existing
ones, in (variant, warehouse) order. Nothing here waits on anything but stock levels.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from django.db.models import Q

from backoffice.sql import lock_rows_of, table
from catalog.models import Channel, ProductVariant
from inventory.available import channel_levels_sql
from inventory.models import Allocation, Reservation, StockLevel, Warehouse


def stock_levels_lock_in_channel(
    *,
    channel: Channel,
    variant_ids: Iterable[int],
    warehouse_id: int | None = None,
    holds_of: str | None = None,
) -> tuple[dict, list[int]]:
    """Lock (in id order) the variants' stock rows in the channel's active warehouses (or
    in the one `warehouse_id`: an on-demand delivery leaves from its zone's store).

    With `holds_of`, the stock rows of that holder's holds are locked too, in the same
    statement and the same id order, wherever they are (a cart completed for a zone's
    store drops its holds in other warehouses: their counters change under their locks,
    never after a higher id was taken). They are not in the rows returned.

    Returns the rows by (variant_id, warehouse_id) and the warehouse ids in routing
    priority order, from one query: the hot path of every checkout, so written out.
    """
    variant_ids = list(variant_ids)
    if not variant_ids:
        return {}, []
    tables, params = channel_levels_sql(
        channel=channel, variant_ids=variant_ids, warehouse_id=warehouse_id
    )
    columns = "s.id, s.variant_id, s.warehouse_id, s.on_hand, s.allocated, s.updated_at"
    if holds_of is None:
        sql = f"SELECT {columns}, wc.priority {tables} ORDER BY s.id{lock_rows_of('s')}"
    else:
        sql = (
            f"SELECT {columns}, c.priority FROM {table(StockLevel)} s "  # noqa: S608
            f"LEFT JOIN (SELECT s.id, wc.priority {tables}) c ON c.id = s.id "
            f"WHERE c.id IS NOT NULL OR s.id IN (SELECT stock_level_id FROM "
            f"{table(Reservation)} WHERE holder = %s) ORDER BY s.id{lock_rows_of('s')}"
        )
        params = [*params, holds_of]
    levels = [level for level in StockLevel.objects.raw(sql, params) if level.priority is not None]
    warehouse_ids = sorted(
        {level.warehouse_id: level.priority for level in levels}.items(),
        key=lambda item: (item[1], item[0]),
    )
    return (
        {(level.variant_id, level.warehouse_id): level for level in levels},
        [warehouse_id for warehouse_id, _ in warehouse_ids],
    )


def stock_levels_lock(*, variant_ids: Iterable[int], warehouse_ids: Iterable[int]) -> dict:
    """Lock the stock rows in id order; returns {(variant_id, warehouse_id): StockLevel}."""
    levels = (
        StockLevel.objects.select_for_update()
        .filter(variant_id__in=list(variant_ids), warehouse_id__in=list(warehouse_ids))
        .order_by("id")
    )
    return {(level.variant_id, level.warehouse_id): level for level in levels}


def stock_levels_lock_by_id(
    level_ids: Iterable[int], *, skip_locked: bool = False
) -> dict[int, StockLevel]:
    """Lock the given stock rows in id order; returns them by id. `skip_locked`: leave out
    those another transaction holds instead of waiting (a sweep that must never wait)."""
    levels = (
        StockLevel.objects.select_for_update(skip_locked=skip_locked)
        .filter(pk__in=level_ids)
        .order_by("id")
    )
    return {level.pk: level for level in levels}


def stock_level_lock_or_create(variant: ProductVariant, warehouse: Warehouse) -> StockLevel:
    """Lock the stock row of a variant in a warehouse, creating it empty when missing.

    Call inside a transaction: a refused change then leaves no empty row behind.
    A concurrent creator makes the insert wait and do nothing; the lock then finds its row.
    """
    rows = StockLevel.objects.select_for_update().filter(variant=variant, warehouse=warehouse)
    level = rows.first()
    if level is None:
        StockLevel.objects.bulk_create(
            [StockLevel(variant=variant, warehouse=warehouse)], ignore_conflicts=True
        )
        level = rows.get()
    return level


def stock_lock_rank(level_id: int | None, variant_id: int, warehouse_id: int) -> tuple:
    """Where a (variant, warehouse) stock row comes in the lock order: existing rows by id,
    then rows still to be created by (variant, warehouse). Sort changes by it."""
    return (0, level_id) if level_id else (1, variant_id, warehouse_id)


def stock_levels_lock_pairs(
    pairs: Iterable[tuple[ProductVariant, Warehouse]],
) -> dict[tuple[int, int], StockLevel]:
    """Lock the stock rows of several (variant, warehouse) pairs, creating missing ones,
    in `stock_lock_rank` order; returns them by (variant_id, warehouse_id).

    For a workflow that changes several rows one after the other (a return restocking
    several SKUs): once they are all held, the order of the changes no longer matters.
    """
    wanted = {(variant.pk, warehouse.pk): (variant, warehouse) for variant, warehouse in pairs}
    if not wanted:
        return {}
    condition = Q()
    for variant_id, warehouse_id in wanted:
        condition |= Q(variant_id=variant_id, warehouse_id=warehouse_id)
    locked = {
        (level.variant_id, level.warehouse_id): level
        for level in StockLevel.objects.select_for_update().filter(condition).order_by("id")
    }
    for key in sorted(set(wanted) - set(locked)):
        locked[key] = stock_level_lock_or_create(*wanted[key])
    return locked


def allocations_lock(*, holder: str, level_ids: Iterable[int]) -> dict[int, Allocation]:
    """Lock the holder's allocations on these stock rows (held already); returns them by row."""
    allocations = Allocation.objects.select_for_update().filter(
        holder=holder, stock_level_id__in=list(level_ids)
    )
    return {allocation.stock_level_id: allocation for allocation in allocations.order_by("id")}


def reservations_lock_expired(*, before: datetime, limit: int) -> list[int]:
    """Lock up to `limit` expired reservations nobody else holds (SKIP LOCKED), oldest id first.

    The purge never waits on a row, so it can never be part of a deadlock: a hold that
    a checkout is deleting at the same moment is simply left for the next run.
    """
    return list(
        Reservation.objects.select_for_update(skip_locked=True)
        .filter(expires_at__lte=before)
        .order_by("id")
        .values_list("id", flat=True)[:limit]
    )
