"""Inventory workflows: receive, adjust, count, reserve, allocate, release and ship.

Concurrency: every workflow locks the StockLevel rows it decides on with one
`SELECT ... FOR UPDATE ORDER BY id`, so concurrent workflows queue on the same
rows in the same order (no deadlocks) and decide on fresh numbers (no
oversell, no lost update). Reservations are summed under that lock.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.db.models import F, Q, Sum
from django.utils import timezone

from backoffice.exceptions import ValidationFailed
from backoffice.outbox.services import events_record
from catalog.models import Channel, ProductVariant
from inventory.errors import InsufficientStock, StockConflict
from inventory.models import (
    Allocation,
    Reservation,
    StockLevel,
    StockMovement,
    Warehouse,
    WarehouseChannel,
)
from inventory.selectors import variant_availability

# The most units one stock level may count (well inside the database's integer range).
MAX_ON_HAND = 1_000_000_000


@dataclass(frozen=True)
class StockLine:
    variant: ProductVariant
    quantity: int


@dataclass(frozen=True)
class Placement:
    """Units of one line taken from one warehouse."""

    variant: ProductVariant
    warehouse_id: int
    stock_level_id: int
    quantity: int


def _lock_channel_levels(*, channel: Channel, variant_ids: Iterable[int]) -> tuple[dict, list[int]]:
    """Lock (in id order) the variants' stock rows in the channel's active warehouses.

    Returns the rows by (variant_id, warehouse_id) and the warehouse ids in routing
    priority order, from one query: the hot path of every checkout.
    """
    levels = list(
        StockLevel.objects.select_for_update(of=("self",))
        .filter(
            variant_id__in=list(variant_ids),
            warehouse__active=True,
            warehouse__warehousechannel__channel=channel,
        )
        .annotate(priority=F("warehouse__warehousechannel__priority"))
        .order_by("id")
    )
    warehouse_ids = sorted(
        {level.warehouse_id: level.priority for level in levels}.items(),
        key=lambda item: (item[1], item[0]),
    )
    return (
        {(level.variant_id, level.warehouse_id): level for level in levels},
        [warehouse_id for warehouse_id, _ in warehouse_ids],
    )


def _lock_levels(*, variant_ids: Iterable[int], warehouse_ids: Iterable[int]) -> dict:
    """Lock the stock rows in id order; returns {(variant_id, warehouse_id): StockLevel}."""
    levels = (
        StockLevel.objects.select_for_update()
        .filter(variant_id__in=list(variant_ids), warehouse_id__in=list(warehouse_ids))
        .order_by("id")
    )
    return {(level.variant_id, level.warehouse_id): level for level in levels}


def _reserved_by_level(level_ids: list[int], exclude_holder: str | None = None) -> dict[int, int]:
    held = Reservation.objects.filter(stock_level_id__in=level_ids, expires_at__gt=timezone.now())
    if exclude_holder:
        held = held.exclude(holder=exclude_holder)
    rows = held.values("stock_level_id").annotate(total=Sum("quantity"))
    return {row["stock_level_id"]: row["total"] for row in rows}


def _reserved_split(level_ids: list[int], holder: str) -> tuple[dict[int, int], dict[int, int]]:
    """Active reservations per level, others' and `holder`'s own, from one query."""
    rows = list(
        Reservation.objects.filter(stock_level_id__in=level_ids, expires_at__gt=timezone.now())
        .values("stock_level_id")
        .annotate(
            others=Sum("quantity", filter=~Q(holder=holder)),
            own=Sum("quantity", filter=Q(holder=holder)),
        )
    )
    others = {row["stock_level_id"]: row["others"] for row in rows if row["others"]}
    own = {row["stock_level_id"]: row["own"] for row in rows if row["own"]}
    return others, own


def _merge(lines: Iterable[StockLine]) -> dict[int, StockLine]:
    merged: dict[int, StockLine] = {}
    for line in lines:
        if line.quantity <= 0:
            raise ValidationFailed({"lines": ["Quantities must be at least 1."]})
        previous = merged.get(line.variant.pk)
        quantity = line.quantity + (previous.quantity if previous else 0)
        merged[line.variant.pk] = StockLine(variant=line.variant, quantity=quantity)
    return merged


def _place(
    lines: dict[int, StockLine],
    warehouse_ids: list[int],
    levels: dict,
    free: dict[int, int],
    preferred: dict[int, dict[int, int]] | None = None,
) -> list[Placement]:
    """Decide where each line's units come from, or raise InsufficientStock for all short lines.

    `free[level_id]` is what each level can still give (decremented as placed);
    `preferred[variant_id][level_id]` is stock this holder already has reserved,
    used first. Then one warehouse that covers the rest, in priority order;
    else the rest is split across warehouses in priority order.
    """
    placements: list[Placement] = []
    short: list[dict] = []
    for variant_id, line in lines.items():
        remaining = line.quantity
        chosen: list[tuple[StockLevel, int]] = []
        for level_id, held in (preferred or {}).get(variant_id, {}).items():
            take = min(held, remaining, free.get(level_id, 0))
            if take:
                level = next(lv for lv in levels.values() if lv.pk == level_id)
                chosen.append((level, take))
                # `free` counts the holder's own holds as free, so they are spent here.
                free[level_id] -= take
                remaining -= take
        candidates = [levels[(variant_id, w)] for w in warehouse_ids if (variant_id, w) in levels]
        if remaining:
            whole = next((lv for lv in candidates if free[lv.pk] >= remaining), None)
            if whole is not None:
                chosen.append((whole, remaining))
                free[whole.pk] -= remaining
                remaining = 0
        for level in candidates:
            if not remaining:
                break
            take = min(free[level.pk], remaining)
            if take > 0:
                chosen.append((level, take))
                free[level.pk] -= take
                remaining -= take
        if remaining:
            # Everything placeable was taken above, so what was placed is what is available.
            short.append(
                {
                    "sku": line.variant.sku,
                    "requested": line.quantity,
                    "available": line.quantity - remaining,
                }
            )
            continue
        placements.extend(
            Placement(
                variant=line.variant,
                warehouse_id=level.warehouse_id,
                stock_level_id=level.pk,
                quantity=quantity,
            )
            for level, quantity in chosen
        )
    if short:
        raise InsufficientStock(short)
    return placements


def _free_units(levels: dict, reserved: dict[int, int]) -> dict[int, int]:
    return {
        level.pk: max(0, level.on_hand - level.allocated - reserved.get(level.pk, 0))
        for level in levels.values()
    }


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


def _sum_by_level(placements: list[Placement]) -> list[Placement]:
    totals: dict[int, Placement] = {}
    for p in placements:
        if p.stock_level_id in totals:
            q = totals[p.stock_level_id].quantity + p.quantity
            p = Placement(p.variant, p.warehouse_id, p.stock_level_id, q)
        totals[p.stock_level_id] = p
    return list(totals.values())


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


def stock_level_for(*, variant: ProductVariant, warehouse: Warehouse) -> StockLevel:
    """The stock row of a variant in a warehouse, created empty when missing."""
    level, _ = StockLevel.objects.get_or_create(variant=variant, warehouse=warehouse)
    return level


def _lock_level(variant: ProductVariant, warehouse: Warehouse) -> StockLevel:
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


def _validate_reason(reason: str) -> None:
    if reason not in StockMovement.Reason.values:
        raise ValidationFailed(
            {"reason": [f"Use one of {', '.join(StockMovement.Reason.values)}."]}
        )


def stock_adjust(
    *,
    variant: ProductVariant,
    warehouse: Warehouse,
    delta: int,
    reason: str = StockMovement.Reason.ADJUSTMENT,
    actor: str = "",
    reference: str = "",
    note: str = "",
) -> StockMovement:
    """Add or remove counted units, with a ledger line.

    Refuses (StockConflict) a removal that would leave fewer units than are
    allocated to orders and held by carts, or a negative count; refuses
    (ValidationFailed) a zero delta, an unknown reason or a count over MAX_ON_HAND.
    Records `stock.low` when available units fall below the variant's threshold.
    """
    _validate_reason(reason)
    if delta == 0:
        raise ValidationFailed({"delta": ["A movement must change the count."]})
    with transaction.atomic():
        level = _lock_level(variant, warehouse)
        return _change_on_hand(level, variant, warehouse, delta, reason, actor, reference, note)


def stock_set_on_hand(
    *,
    variant: ProductVariant,
    warehouse: Warehouse,
    on_hand: int,
    actor: str = "",
    note: str = "",
    reason: str = StockMovement.Reason.STOCKTAKE,
    reference: str = "",
) -> StockMovement | None:
    """Record a count: the ledger gets the difference. Returns None when nothing changed.

    Refuses (StockConflict) a count below what orders and carts hold, like `stock_adjust`.
    """
    _validate_reason(reason)
    if on_hand < 0:
        raise ValidationFailed({"on_hand": ["Must be zero or more."]})
    if on_hand > MAX_ON_HAND:
        raise ValidationFailed({"on_hand": [f"Must be at most {MAX_ON_HAND}."]})
    with transaction.atomic():
        level = _lock_level(variant, warehouse)
        if on_hand == level.on_hand:
            return None
        delta = on_hand - level.on_hand
        return _change_on_hand(level, variant, warehouse, delta, reason, actor, reference, note)


def _change_on_hand(
    level: StockLevel,
    variant: ProductVariant,
    warehouse: Warehouse,
    delta: int,
    reason: str,
    actor: str,
    reference: str,
    note: str,
) -> StockMovement:
    """Apply a delta to a locked level with its ledger line, or refuse it."""
    held = level.allocated + _reserved_by_level([level.pk]).get(level.pk, 0)
    new_on_hand = level.on_hand + delta
    if new_on_hand > MAX_ON_HAND:
        raise ValidationFailed(
            {"delta": [f"On hand would be {new_on_hand}; a level holds at most {MAX_ON_HAND}."]}
        )
    if new_on_hand < 0 or (delta < 0 and new_on_hand < held):
        raise StockConflict(
            f"{variant.sku} in {warehouse.code}: on hand would be {new_on_hand}, "
            f"but {held} are allocated or reserved.",
            sku=variant.sku,
            warehouse=warehouse.code,
            on_hand=level.on_hand,
            held=held,
        )
    level.on_hand = new_on_hand
    level.save(update_fields=["on_hand", "updated_at"])
    movement = StockMovement.objects.create(
        stock_level=level,
        delta=delta,
        on_hand_after=new_on_hand,
        reason=reason,
        actor=actor,
        reference=reference,
        note=note,
    )
    available = new_on_hand - held
    _record_low_stock(
        {(variant.pk, warehouse.pk): level},
        {variant.pk: StockLine(variant=variant, quantity=0)},
        before={level.pk: available - delta},
        after={level.pk: available},
    )
    return movement


def reservations_purge_expired(*, before: datetime | None = None) -> int:
    """Delete reservations that have expired (they already stopped counting); returns rows."""
    deleted, _ = Reservation.objects.filter(expires_at__lte=before or timezone.now()).delete()
    return deleted


def _record_low_stock(
    levels: dict, lines: dict[int, StockLine], *, before: dict[int, int], after: dict[int, int]
) -> None:
    """Record `stock.low` for each level whose available units fell below the variant's threshold.

    Only the crossing is an event, so a flash sale records one, not one per order.
    """
    events = []
    for level in levels.values():
        line = lines.get(level.variant_id)
        if line is None:
            continue
        threshold = line.variant.low_stock_threshold
        if before.get(level.pk, 0) >= threshold > after.get(level.pk, 0):
            events.append(
                {
                    "type": "stock.low",
                    "aggregate": f"stock:{level.pk}",
                    "data": {
                        "sku": line.variant.sku,
                        "warehouse_id": level.warehouse_id,
                        "available": max(0, after[level.pk]),
                        "threshold": threshold,
                    },
                }
            )
    events_record(events)  # one insert, whatever the number of lines


def warehouse_create(
    *,
    code: str,
    name: str = "",
    kind: str = Warehouse.Kind.WAREHOUSE,
    channels: Iterable[Channel] = (),
    address: dict | None = None,
    active: bool = True,
) -> Warehouse:
    """Create a warehouse serving the given channels, in that priority order."""
    if Warehouse.objects.filter(code=code).exists():
        raise ValidationFailed({"code": [f"A warehouse with code '{code}' exists."]})
    with transaction.atomic():
        warehouse = Warehouse(
            code=code, name=name or code, kind=kind, address=address or {}, active=active
        )
        _full_clean(warehouse)
        warehouse.save()
        warehouse_set_channels(warehouse=warehouse, channels=channels)
    return warehouse


def warehouse_update(
    *,
    warehouse: Warehouse,
    fields: dict[str, Any],
    channels: Iterable[Channel] | None = None,
) -> Warehouse:
    """Change a warehouse's name, kind, address or active flag; `channels` replaces its routing.

    The code stays: stock syncs and other systems name the warehouse by it.
    """
    unknown = set(fields) - {"name", "kind", "address", "active"}
    if unknown:
        raise ValidationFailed({name: ["This field cannot be changed."] for name in unknown})
    with transaction.atomic():
        warehouse = Warehouse.objects.select_for_update().get(pk=warehouse.pk)
        for name, value in fields.items():
            setattr(warehouse, name, value if name != "address" else value or {})
        _full_clean(warehouse)
        warehouse.save()
        if channels is not None:
            warehouse_set_channels(warehouse=warehouse, channels=channels)
    return warehouse


def warehouse_set_channels(*, warehouse: Warehouse, channels: Iterable[Channel]) -> None:
    """Replace the channels a warehouse serves; the list order is its routing priority."""
    with transaction.atomic():
        WarehouseChannel.objects.filter(warehouse=warehouse).delete()
        WarehouseChannel.objects.bulk_create(
            WarehouseChannel(warehouse=warehouse, channel=channel, priority=index)
            for index, channel in enumerate(channels)
        )


def _full_clean(warehouse: Warehouse) -> None:
    try:
        warehouse.full_clean(validate_unique=False)
    except DjangoValidationError as error:
        raise ValidationFailed(error.message_dict) from error
