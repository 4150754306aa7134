"""Holds on stock: cart reservations, order allocations, release, and shipping out."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Q, Sum
from django.utils import timezone

from catalog.models import Channel
from inventory.errors import InsufficientStock, StockConflict
from inventory.models import (
    Allocation,
    Reservation,
    StockLevel,
    StockMovement,
    Warehouse,
)
from inventory.selectors import variant_availability
from inventory.services.placement import (
    Placement,
    StockLine,
    _free_units,
    _lock_channel_levels,
    _lock_levels,
    _merge,
    _place,
    _record_low_stock,
    _reserved_by_level,
    _reserved_split,
    _sum_by_level,
)


def stock_reserve(
    *, channel: Channel, holder: str, lines: Iterable[StockLine], ttl_seconds: int | None = None
) -> list[Reservation]:
    """Hold stock for a cart (or a link's allotment) in the channel's warehouses.

    Replaces the holder's earlier holds on these variants, so changing a quantity
    re-reserves. All lines or none: raises InsufficientStock listing each short
    SKU with what is available. A TTL of 0 creates no holds (POS) but still checks.
    """
    merged = _merge(lines)
    ttl = channel.reservation_ttl_seconds if ttl_seconds is None else ttl_seconds
    with transaction.atomic():
        levels, warehouse_ids = _lock_channel_levels(channel=channel, variant_ids=merged)
        held = list(
            Reservation.objects.filter(
                stock_level_id__in=[level.pk for level in levels.values()],
                expires_at__gt=timezone.now(),
            )
            .values("stock_level_id")
            .annotate(total=Sum("quantity"), own=Sum("quantity", filter=Q(holder=holder)))
        )
        # What others saw before, with this holder's earlier holds still counted, so
        # re-reserving a cart does not look like a fresh fall below the threshold.
        before = _free_units(levels, {row["stock_level_id"]: row["total"] for row in held})
        Reservation.objects.filter(holder=holder, stock_level__variant_id__in=list(merged)).delete()
        others = {row["stock_level_id"]: row["total"] - (row["own"] or 0) for row in held}
        free = _free_units(levels, others)
        placements = _place(merged, warehouse_ids, levels, free)
        if ttl <= 0:
            return []
        expires_at = timezone.now() + timedelta(seconds=ttl)
        reservations = Reservation.objects.bulk_create(
            Reservation(
                stock_level_id=p.stock_level_id,
                holder=holder,
                quantity=p.quantity,
                expires_at=expires_at,
            )
            for p in _sum_by_level(placements)
        )
        _record_low_stock(levels, merged, before=before, after=free)
    return reservations


def stock_release(*, holder: str, variant_ids: Iterable[int] | None = None) -> int:
    """Drop a holder's reservations (all, or for some variants) at once; returns units freed."""
    reservations = Reservation.objects.filter(holder=holder)
    if variant_ids is not None:
        reservations = reservations.filter(stock_level__variant_id__in=list(variant_ids))
    units = reservations.aggregate(total=Sum("quantity"))["total"] or 0
    reservations.delete()
    return units


def stock_extend(*, channel: Channel, holder: str, seconds: int) -> datetime | None:
    """Extend a holder's active reservations to now + seconds, within the channel's maximum.

    Expired holds are not revived (their stock may be sold already): reserve again instead.
    Returns the new expiry, or None when the holder has no active reservation.
    """
    seconds = min(max(0, seconds), channel.reservation_max_seconds)
    expires_at = timezone.now() + timedelta(seconds=seconds)
    updated = Reservation.objects.filter(holder=holder, expires_at__gt=timezone.now()).update(
        expires_at=expires_at
    )
    return expires_at if updated else None


def stock_allocate(
    *,
    channel: Channel,
    holder: str,
    lines: Iterable[StockLine],
    reservation_holder: str | None = None,
) -> list[Placement]:
    """Promise stock to a placed order: its cart's reservations turn into allocations.

    Units the cart still holds (unexpired) are used first; the rest comes from what
    is available, so a cart whose holds expired still completes while stock lasts.
    Call inside the order's transaction. Raises InsufficientStock.
    """
    merged = _merge(lines)
    with transaction.atomic():
        levels, warehouse_ids = _lock_channel_levels(channel=channel, variant_ids=merged)
        level_ids = [level.pk for level in levels.values()]
        preferred: dict[int, dict[int, int]] = defaultdict(dict)
        if reservation_holder:
            reserved, own_by_level = _reserved_split(level_ids, reservation_holder)
            variant_of = {level.pk: level.variant_id for level in levels.values()}
            for level_id, quantity in own_by_level.items():
                preferred[variant_of[level_id]][level_id] = quantity
        else:
            reserved = _reserved_by_level(level_ids)
        free = _free_units(levels, reserved)
        # `free` counts the holder's own holds as free; others did not see them as available.
        own = defaultdict(int)
        for held in preferred.values():
            for level_id, quantity in held.items():
                own[level_id] += quantity
        before = {level_id: max(0, units - own[level_id]) for level_id, units in free.items()}
        placements = _sum_by_level(_place(merged, warehouse_ids, levels, free, preferred))
        if reservation_holder:
            Reservation.objects.filter(holder=reservation_holder).delete()
        by_id = {level.pk: level for level in levels.values()}
        now = timezone.now()
        for placement in placements:
            level = by_id[placement.stock_level_id]
            level.allocated += placement.quantity
            level.updated_at = now
        StockLevel.objects.bulk_update(
            [by_id[p.stock_level_id] for p in placements], ["allocated", "updated_at"]
        )
        Allocation.objects.bulk_create(
            Allocation(stock_level_id=p.stock_level_id, holder=holder, quantity=p.quantity)
            for p in placements
        )
        _record_low_stock(levels, merged, before=before, after=free)
    return placements


def stock_ensure_available(*, channel: Channel, lines: Iterable[StockLine]) -> None:
    """Raise InsufficientStock when the channel plainly lacks the units: one read, no locks.

    For a sold-out SKU the answer comes without queueing behind the checkouts that hold
    its stock rows. Passing is no promise: `stock_allocate` decides under the locks.
    """
    merged = _merge(lines)
    available = variant_availability(channel=channel, variant_ids=merged)
    short = [
        {"sku": line.variant.sku, "requested": line.quantity, "available": available[variant_id]}
        for variant_id, line in merged.items()
        if available[variant_id] < line.quantity
    ]
    if short:
        raise InsufficientStock(short)


def stock_deallocate(*, holder: str) -> int:
    """Release everything allocated to a holder (an order being cancelled); returns units freed."""
    with transaction.atomic():
        level_ids = set(
            Allocation.objects.filter(holder=holder).values_list("stock_level_id", flat=True)
        )
        if not level_ids:
            return 0
        levels = {
            lv.pk: lv
            for lv in StockLevel.objects.select_for_update().filter(pk__in=level_ids).order_by("id")
        }
        # Read again under the locks: a concurrent cancel or shipment of the same holder may
        # have changed them since, and subtracting a stale list would release units twice.
        allocations = list(Allocation.objects.filter(holder=holder, stock_level_id__in=levels))
        now = timezone.now()
        for allocation in allocations:
            level = levels[allocation.stock_level_id]
            level.allocated -= allocation.quantity
            level.updated_at = now
        StockLevel.objects.bulk_update(list(levels.values()), ["allocated", "updated_at"])
        Allocation.objects.filter(pk__in=[a.pk for a in allocations]).delete()
    return sum(a.quantity for a in allocations)


def stock_ship(
    *,
    holder: str,
    warehouse: Warehouse,
    lines: Iterable[StockLine],
    actor: str = "",
    reference: str = "",
) -> list[StockMovement]:
    """Units leave the warehouse: they come out of the holder's allocation and `on_hand`.

    Raises StockConflict when the holder has fewer units allocated there than shipped.
    """
    merged = _merge(lines)
    with transaction.atomic():
        levels = _lock_levels(variant_ids=merged, warehouse_ids=[warehouse.pk])
        allocations = {
            a.stock_level_id: a
            for a in Allocation.objects.select_for_update().filter(
                holder=holder, stock_level_id__in=[lv.pk for lv in levels.values()]
            )
        }
        movements = []
        for variant_id, line in merged.items():
            level = levels.get((variant_id, warehouse.pk))
            allocation = allocations.get(level.pk) if level else None
            if allocation is None or allocation.quantity < line.quantity:
                raise StockConflict(
                    f"{line.variant.sku}: fewer than {line.quantity} allocated in {warehouse.code}."
                )
            allocation.quantity -= line.quantity
            if allocation.quantity:
                allocation.save(update_fields=["quantity"])
            else:
                allocation.delete()
            level.allocated -= line.quantity
            level.on_hand -= line.quantity
            level.save(update_fields=["allocated", "on_hand", "updated_at"])
            movements.append(
                StockMovement(
                    stock_level=level,
                    delta=-line.quantity,
                    on_hand_after=level.on_hand,
                    reason=StockMovement.Reason.SALE,
                    actor=actor,
                    reference=reference,
                )
            )
        return StockMovement.objects.bulk_create(movements)


def reservations_purge_expired(*, before: datetime | None = None) -> int:
    """Delete reservations that have expired (they already stopped counting); returns rows."""
    deleted, _ = Reservation.objects.filter(expires_at__lte=before or timezone.now()).delete()
    return deleted
