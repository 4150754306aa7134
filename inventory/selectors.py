"""Inventory reads: availability per channel, warehouses, stock levels, the ledger and its check."""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import (
    F,
    IntegerField,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce, Greatest
from django.utils import timezone

from backoffice.sql import fetch, placeholders, table
from catalog.models import Channel
from catalog.selectors import channel_catalog_product_ids
from inventory.codes import code_is
from inventory.models import (
    Allocation,
    Reservation,
    StockLevel,
    StockMovement,
    Warehouse,
    WarehouseChannel,
)


def active_reservations() -> QuerySet[Reservation]:
    """Reservations that still hold stock; expired ones stop counting the moment they expire."""
    return Reservation.objects.filter(expires_at__gt=timezone.now())


def reserved_subquery() -> Coalesce:
    """For a StockLevel queryset: units held by active reservations."""
    held = (
        active_reservations()
        .filter(stock_level=OuterRef("pk"))
        .values("stock_level")
        .annotate(total=Sum("quantity"))
        .values("total")
    )
    return Coalesce(Subquery(held, output_field=IntegerField()), Value(0))


def stock_levels_with_reserved() -> QuerySet[StockLevel]:
    """Stock levels annotated with `reserved` (active reservations)."""
    return StockLevel.objects.annotate(reserved=reserved_subquery())


def channel_warehouse_ids(*, channel: Channel) -> list[int]:
    """The active warehouses serving a channel, in routing priority order."""
    return list(
        Warehouse.objects.filter(active=True, warehousechannel__channel=channel)
        .order_by("warehousechannel__priority", "id")
        .values_list("pk", flat=True)
    )


def channel_levels_sql(
    *, channel: Channel, variant_ids: list[int], warehouse_id: int | None = None
) -> tuple[str, list]:
    """`FROM ... WHERE ...` for the variants' stock rows (alias `s`) in the channel's active
    warehouses (joined as `wc`, the route with its priority), and its parameters; with
    `warehouse_id`, in that one warehouse only (an on-demand delivery leaves from its store).

    Shared by the availability read below and the row lock of every checkout
    (`inventory.services.placement`), written out because both are on the hot path.
    """
    sql = (
        f"FROM {table(StockLevel)} s "
        f"JOIN {table(WarehouseChannel)} wc ON wc.warehouse_id = s.warehouse_id "
        f"JOIN {table(Warehouse)} w ON w.id = s.warehouse_id "
        f"WHERE wc.channel_id = %s AND w.active = %s "
        f"AND s.variant_id IN ({placeholders(len(variant_ids))})"
    )
    if warehouse_id is not None:
        return f"{sql} AND s.warehouse_id = %s", [channel.pk, True, *variant_ids, warehouse_id]
    return sql, [channel.pk, True, *variant_ids]


def variant_availability(*, channel: Channel, variant_ids: Iterable[int]) -> dict[int, int]:
    """Units each variant can still sell in the channel, summed over its warehouses (one query)."""
    variant_ids = list(variant_ids)
    if not variant_ids:
        return {}
    levels, params = channel_levels_sql(channel=channel, variant_ids=variant_ids)
    rows = fetch(
        "SELECT s.variant_id, s.on_hand - s.allocated - COALESCE("  # noqa: S608 - table names only
        f"(SELECT SUM(r.quantity) FROM {table(Reservation)} r "
        f"WHERE r.stock_level_id = s.id AND r.expires_at > %s), 0) {levels}",
        [timezone.now(), *params],
    )
    available = dict.fromkeys(variant_ids, 0)
    for variant_id, units in rows:
        available[variant_id] += max(0, units)
    return available


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
    levels = (
        stock_levels_with_reserved()
        .annotate(available=Greatest(F("on_hand") - F("allocated") - F("reserved"), Value(0)))
        .select_related("variant", "warehouse")
        .order_by("id")
    )
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
        stock_levels_with_reserved()
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
