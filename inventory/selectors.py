"""Inventory reads: warehouses, stock levels, the ledger and its check.

What is available, per level and per channel, is its own rule: `inventory.available`.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import F, IntegerField, OuterRef, Prefetch, Q, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce

from backoffice.scopes import EVERYTHING, Scope, scope_filter
from inventory.available import stock_levels_with_availability
from inventory.codes import code_is
from inventory.models import (
    Allocation,
    Reservation,
    StockLevel,
    StockMovement,
    Warehouse,
    WarehouseChannel,
)


def warehouse_list(*, scope: Scope = EVERYTHING) -> QuerySet[Warehouse]:
    """Warehouses by code, with the channels they serve in priority order (one extra query).

    Only those the scope reaches (`backoffice.scopes`: a channel-limited key sees the
    warehouses serving its channel).
    """
    routes = WarehouseChannel.objects.select_related("channel").order_by("priority", "id")
    warehouses = Warehouse.objects.prefetch_related(
        Prefetch("warehousechannel_set", queryset=routes, to_attr="routes")
    ).order_by("code")
    return scope_filter(warehouses, scope)


def warehouse_get(*, code: str, scope: Scope = EVERYTHING) -> Warehouse | None:
    """One warehouse by code in any case, if it exists and the scope reaches it."""
    return warehouse_list(scope=scope).filter(code_is(code)).first()


def stock_level_list(*, scope: Scope = EVERYTHING) -> QuerySet[StockLevel]:
    """Stock levels with variant and warehouse, `reserved` and `available`, for staff.

    `available` is never below zero. Only the levels the scope reaches (a channel-limited
    key: its catalog in the warehouses serving it).
    """
    levels = stock_levels_with_availability().select_related("variant", "warehouse").order_by("id")
    return scope_filter(levels, scope)


def stock_level_filter_low(queryset: QuerySet[StockLevel]) -> QuerySet[StockLevel]:
    """Levels whose available units are below their variant's low-stock threshold."""
    return queryset.filter(available__lt=F("variant__low_stock_threshold"))


def stock_level_get(*, variant_id: int, warehouse_id: int) -> StockLevel | None:
    """One stock level, annotated like `stock_level_list`."""
    return stock_level_list().filter(variant_id=variant_id, warehouse_id=warehouse_id).first()


def stock_movement_list(*, scope: Scope = EVERYTHING) -> QuerySet[StockMovement]:
    """The ledger, newest first; only the lines the scope reaches (as `stock_level_list`)."""
    movements = StockMovement.objects.select_related(
        "stock_level__variant", "stock_level__warehouse"
    ).order_by("-id")
    return scope_filter(movements, scope)


@dataclass(frozen=True)
class AllocationView:
    sku: str
    warehouse: str
    quantity: int


def allocation_list(*, holder: str) -> list[AllocationView]:
    """What a holder (an order) has allocated, per SKU and warehouse (by name)."""
    rows = (
        Allocation.objects.filter(holder=holder)
        .order_by("stock_level__variant__sku", "stock_level__warehouse__name")
        .values_list("stock_level__variant__sku", "stock_level__warehouse__name", "quantity")
    )
    return [AllocationView(sku=sku, warehouse=name, quantity=q) for sku, name, q in rows]


def stock_check() -> list[str]:
    """Every stock level that breaks an invariant, as one readable line each ([] when sound).

    Checked: `on_hand` equals the sum of its ledger deltas, `allocated` equals the
    sum of its allocations, `reserved_units` the sum of its reservations (expired ones
    not yet purged included), and nothing is promised beyond what is on hand
    (`on_hand - allocated - active reservations >= 0`). Four subqueries, one scan.
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
    holds = (
        Reservation.objects.filter(stock_level=OuterRef("pk"))
        .values("stock_level")
        .annotate(total=Sum("quantity"))
        .values("total")
    )
    levels = (
        stock_levels_with_availability()
        .annotate(
            ledger=Coalesce(Subquery(ledger, output_field=IntegerField()), Value(0)),
            allocated_total=Coalesce(Subquery(allocations, output_field=IntegerField()), Value(0)),
            reserved_total=Coalesce(Subquery(holds, output_field=IntegerField()), Value(0)),
        )
        .filter(
            ~Q(on_hand=F("ledger"))
            | ~Q(allocated=F("allocated_total"))
            | ~Q(reserved_units=F("reserved_total"))
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
        if level.reserved_units != level.reserved_total:
            problems.append(
                f"{where}: reserved_units is {level.reserved_units}, "
                f"its reservations sum to {level.reserved_total}."
            )
        available = level.on_hand - level.allocated - level.reserved
        if available < 0:
            problems.append(
                f"{where}: available is {available} (on_hand {level.on_hand}, "
                f"allocated {level.allocated}, reserved {level.reserved})."
            )
    return problems
