"""Inventory reads: warehouses, stock levels, the ledger and its check.

What is available, per level and per channel, is its own rule: `inventory.available`.
"""

from __future__ import annotations

from django.db.models import F, IntegerField, OuterRef, Prefetch, Q, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce

from catalog.models import Channel
from catalog.selectors import channel_catalog_product_ids
from inventory.available import stock_levels_with_availability
from inventory.codes import code_is
from inventory.models import Allocation, StockLevel, StockMovement, Warehouse, WarehouseChannel


def warehouse_list(*, channel: Channel | None = None) -> QuerySet[Warehouse]:
    """Warehouses by code, with the channels they serve in priority order (one extra query).

    With `channel`, only the warehouses serving it: what a channel-limited key may see.
    """
    routes = WarehouseChannel.objects.select_related("channel").order_by("priority", "id")
    warehouses = Warehouse.objects.prefetch_related(
        Prefetch("warehousechannel_set", queryset=routes, to_attr="routes")
    ).order_by("code")
    if channel is not None:
        warehouses = warehouses.filter(pk__in=_serving(channel))
    return warehouses


def warehouse_get(*, code: str, channel: Channel | None = None) -> Warehouse | None:
    """One warehouse by code in any case, if it exists and (with `channel`) serves that channel."""
    return warehouse_list(channel=channel).filter(code_is(code)).first()


def _serving(channel: Channel) -> QuerySet[WarehouseChannel]:
    return WarehouseChannel.objects.filter(channel=channel).values("warehouse_id")


def stock_level_list(*, channel: Channel | None = None) -> QuerySet[StockLevel]:
    """Stock levels with variant and warehouse, `reserved` and `available`, for staff.

    `available` is never below zero. With `channel`, only the channel's catalog in the
    warehouses serving it: what a channel-limited key may see.
    """
    levels = stock_levels_with_availability().select_related("variant", "warehouse").order_by("id")
    if channel is not None:
        levels = levels.filter(
            warehouse_id__in=_serving(channel),
            variant__product_id__in=channel_catalog_product_ids(channel),
        )
    return levels


def stock_level_filter_low(queryset: QuerySet[StockLevel]) -> QuerySet[StockLevel]:
    """Levels whose available units are below their variant's low-stock threshold."""
    return queryset.filter(available__lt=F("variant__low_stock_threshold"))


def stock_level_get(*, variant_id: int, warehouse_id: int) -> StockLevel | None:
    """One stock level, annotated like `stock_level_list`."""
    return stock_level_list().filter(variant_id=variant_id, warehouse_id=warehouse_id).first()


def stock_movement_list(*, channel: Channel | None = None) -> QuerySet[StockMovement]:
    """The ledger, newest first; with `channel`, only its catalog in warehouses serving it."""
    movements = StockMovement.objects.select_related(
        "stock_level__variant", "stock_level__warehouse"
    ).order_by("-id")
    if channel is not None:
        movements = movements.filter(
            stock_level__warehouse_id__in=_serving(channel),
            stock_level__variant__product_id__in=channel_catalog_product_ids(channel),
        )
    return movements


def stock_check() -> list[str]:
    """Every stock level that breaks an invariant, as one readable line each ([] when sound).

    Checked: `on_hand` equals the sum of its ledger deltas, `allocated` equals the
    sum of its allocations, and nothing is promised beyond what is on hand
    (`on_hand - allocated - active reservations >= 0`). Three subqueries, one scan.
    """
    ledger = (
        StockMovement.objects.filter(stock_level=OuterRef("pk"))
        .values("stock_level")
        .annotate(total=Sum("delta"))
        .values("total")
    )
    allocations = (
        Allocation.objects.filter(stock_level=OuterRef("pk"))
        .values("stock_level")
        .annotate(total=Sum("quantity"))
        .values("total")
    )
    levels = (
        stock_levels_with_availability()
        .annotate(
            ledger=Coalesce(Subquery(ledger, output_field=IntegerField()), Value(0)),
            allocated_total=Coalesce(Subquery(allocations, output_field=IntegerField()), Value(0)),
        )
        .filter(
            ~Q(on_hand=F("ledger"))
            | ~Q(allocated=F("allocated_total"))
            | Q(on_hand__lt=F("allocated") + F("reserved"))
        )
        .select_related("variant", "warehouse")
        .order_by("id")
    )
    problems = []
    for level in levels:
        where = f"{level.variant.sku} in {level.warehouse.code} (stock level {level.pk})"
        if level.on_hand != level.ledger:
            problems.append(
                f"{where}: on_hand is {level.on_hand}, the ledger sums to {level.ledger}."
            )
        if level.allocated != level.allocated_total:
            problems.append(
                f"{where}: allocated is {level.allocated}, "
                f"its allocations sum to {level.allocated_total}."
            )
        available = level.on_hand - level.allocated - level.reserved
        if available < 0:
            problems.append(
                f"{where}: available is {available} (on_hand {level.on_hand}, "
                f"allocated {level.allocated}, reserved {level.reserved})."
            )
    return problems
