"""Inventory reads: availability per channel, stock levels and the ledger."""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import IntegerField, OuterRef, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from catalog.models import Channel
from inventory.models import Reservation, StockLevel, StockMovement, Warehouse


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


def variant_availability(*, channel: Channel, variant_ids: Iterable[int]) -> dict[int, int]:
    """Units each variant can still sell in the channel, summed over its warehouses (one query)."""
    variant_ids = list(variant_ids)
    if not variant_ids:
        return {}
    rows = (
        stock_levels_with_reserved()
        .filter(
            variant_id__in=variant_ids,
            warehouse__active=True,
            warehouse__warehousechannel__channel=channel,
        )
        .values_list("variant_id", "on_hand", "allocated", "reserved")
    )
    available = dict.fromkeys(variant_ids, 0)
    for variant_id, on_hand, allocated, reserved in rows:
        available[variant_id] += max(0, on_hand - allocated - reserved)
    return available


def stock_level_list() -> QuerySet[StockLevel]:
    """Stock levels with variant and warehouse, and `reserved`, for staff."""
    return stock_levels_with_reserved().select_related("variant", "warehouse").order_by("id")


def stock_movement_list() -> QuerySet[StockMovement]:
    """The ledger, newest first."""
    return StockMovement.objects.select_related("stock_level__variant", "stock_level__warehouse")
