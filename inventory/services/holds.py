"""Holds on stock: cart reservations, order allocations, release, and shipping out."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from contextlib import nullcontext
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Min, Sum
from django.utils import timezone

from backoffice.sql import execute, fetch, placeholders, table
from catalog.models import Channel
from inventory.available import channel_availability, free_units, reserved_by_level
from inventory.errors import InsufficientStock, StockConflict
from inventory.hold_active import hold_active_q
from inventory.locks import (
    allocations_lock,
    reservations_lock_expired,
    stock_levels_lock,
    stock_levels_lock_by_id,
    stock_levels_lock_in_channel,
)
from inventory.models import (
    Allocation,
    Reservation,
    StockLevel,
    StockMovement,
    Warehouse,
)
from inventory.services.placement import (
    Placement,
    StockLine,
    lines_merge,
    low_stock_record,
    placements_by_level,
    placements_plan,
)


def stock_reserve(
    *,
    channel: Channel,
    holder: str,
    lines: Iterable[StockLine],
    ttl_seconds: int | None = None,
    fresh: bool = False,
) -> list[Reservation]:
    """Hold stock for a cart (or a link's allotment, or a checkout while its payment is
    taken) in the channel's warehouses.

    Replaces the holder's earlier holds on these variants, so changing a quantity
    re-reserves; a `fresh` holder (named for this hold alone, e.g. a checkout's while its
    payment is taken) has none, and skips that statement. All lines or none: raises
    InsufficientStock listing each short SKU with what is available. A TTL of 0 creates
    no holds (POS) but still checks.
    """
    merged = lines_merge(lines)
    ttl = channel.reservation_ttl_seconds if ttl_seconds is None else ttl_seconds
    with transaction.atomic():
        levels, warehouse_ids = stock_levels_lock_in_channel(channel=channel, variant_ids=merged)
        others, own = reserved_by_level([level.pk for level in levels.values()], holder)
        # What others saw before, with this holder's earlier holds still counted, so
        # re-reserving a cart does not look like a fresh fall below the threshold.
        before = free_units(
            levels, {lv: others.get(lv, 0) + own.get(lv, 0) for lv in others.keys() | own.keys()}
        )
        if not fresh:
            Reservation.objects.filter(
                holder=holder, stock_level__variant_id__in=list(merged)
            ).delete()
        free = free_units(levels, others)
        placements = placements_plan(merged, warehouse_ids, levels, free)
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
            for p in placements_by_level(placements)
        )
        low_stock_record(levels, merged, before=before, after=free)
    return reservations


def stock_release(*, holder: str, variant_ids: Iterable[int] | None = None) -> int:
    """Drop a holder's reservations (all, or for some variants) at once; returns units freed."""
    reservations = Reservation.objects.filter(holder=holder)
    if variant_ids is not None:
        reservations = reservations.filter(stock_level__variant_id__in=list(variant_ids))
    units = reservations.aggregate(total=Sum("quantity"))["total"] or 0
    reservations.delete()
    return units


def stock_held_until(*, holder: str) -> datetime | None:
    """When the holder's first active hold expires (a cart's `reserved_until`), or None."""
    return Reservation.objects.filter(hold_active_q(), holder=holder).aggregate(
        first=Min("expires_at")
    )["first"]


def stock_extend(*, channel: Channel, holder: str, seconds: int) -> datetime | None:
    """Extend a holder's active reservations to now + seconds, within the channel's maximum.

    Expired holds are not revived (their stock may be sold already): reserve again instead.
    Returns the new expiry, or None when the holder has no active reservation.
    """
    seconds = min(max(0, seconds), channel.reservation_max_seconds)
    expires_at = timezone.now() + timedelta(seconds=seconds)
    updated = Reservation.objects.filter(hold_active_q(), holder=holder).update(
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
    merged = lines_merge(lines)
    # Inside the caller's transaction, no savepoint of our own: a refusal is raised before
    # anything is written, and releasing a savepoint would be one more round trip while
    # the rows are locked. On its own, it is a transaction of its own.
    in_transaction = transaction.get_connection().in_atomic_block
    with nullcontext() if in_transaction else transaction.atomic():
        levels, warehouse_ids = stock_levels_lock_in_channel(channel=channel, variant_ids=merged)
        # From here to the commit, concurrent checkouts of these SKUs wait: few statements,
        # little Python, each written out (docs/performance.md).
        reserved, own = reserved_by_level(
            [level.pk for level in levels.values()], reservation_holder
        )
        preferred: dict[int, dict[int, int]] = defaultdict(dict)
        variant_of = {level.pk: level.variant_id for level in levels.values()}
        for level_id, quantity in own.items():
            preferred[variant_of[level_id]][level_id] = quantity
        free = free_units(levels, reserved)
        # `free` counts the holder's own holds as free; others did not see them as available.
        before = {
            level_id: max(0, units - own.get(level_id, 0)) for level_id, units in free.items()
        }
        placements = placements_by_level(
            placements_plan(merged, warehouse_ids, levels, free, preferred)
        )
        if reservation_holder:
            execute(f"DELETE FROM {table(Reservation)} WHERE holder = %s", [reservation_holder])  # noqa: S608
        _allocations_write(holder, placements)
        low_stock_record(levels, merged, before=before, after=free)
    return placements


def stock_allocate_held(
    *, channel: Channel, holder: str, hold: str, lines: Iterable[StockLine]
) -> None:
    """Turn a hold made for exactly these lines (`stock_reserve` with a `fresh` holder, a
    checkout's while its payment was taken) into the order's allocation.

    Its units were counted out under the stock locks when the hold was made, so the stock
    rows are not read again: the hold's rows are deleted, the levels' `allocated` grows by
    them in one conditional statement (which takes the row locks only until the commit),
    and the allocations are inserted. A hold that lapsed, or a level whose stock was
    counted down meanwhile, takes the full path of `stock_allocate` (InsufficientStock).
    Call inside the order's transaction.
    """
    merged = lines_merge(lines)
    now = timezone.now()
    rows = fetch(
        f"DELETE FROM {table(Reservation)} WHERE holder = %s "  # noqa: S608
        "RETURNING stock_level_id, quantity, CASE WHEN expires_at > %s THEN 1 ELSE 0 END",
        [hold, now],
    )
    wanted = sum(line.quantity for line in merged.values())
    active = rows and all(row[2] for row in rows)
    if not active or sum(quantity for _, quantity, _ in rows) != wanted:
        stock_allocate(channel=channel, holder=holder, lines=merged.values())
        return
    held = [(level_id, quantity) for level_id, quantity, _ in rows]
    if _levels_allocate(held, now=now, within_on_hand=True) != len(held):
        # A level was counted down below what was held: refused (the caller's transaction
        # rolls back, the levels updated here too), with what is there now.
        available = channel_availability(channel=channel, variant_ids=merged)
        raise InsufficientStock(
            [
                {"sku": line.variant.sku, "requested": line.quantity, "available": available[vid]}
                for vid, line in merged.items()
            ]
        )
    _allocations_insert(holder, held, now=now)


def _allocations_write(holder: str, placements: list[Placement]) -> None:
    """Add the placed units to their levels and record them as the holder's: two statements.

    The levels are locked by the caller; `allocated` grows by the placed units in the
    database itself, and the constraints on StockLevel still guard it.
    """
    if not placements:
        return
    now = timezone.now()
    placed = [(p.stock_level_id, p.quantity) for p in placements]
    _levels_allocate(placed, now=now)
    _allocations_insert(holder, placed, now=now)


def _levels_allocate(
    placed: list[tuple[int, int]], *, now: datetime, within_on_hand: bool = False
) -> int:
    """`allocated` grows by the placed units (level id, units) in one statement; with
    `within_on_hand`, only on levels that still have them on hand. Returns levels changed."""
    ids = [level_id for level_id, _ in placed]
    cases = " ".join(["WHEN %s THEN %s"] * len(placed))
    added = [value for pair in placed for value in pair]
    condition = f" AND allocated + CASE id {cases} END <= on_hand" if within_on_hand else ""
    return execute(
        f"UPDATE {table(StockLevel)} SET allocated = allocated + CASE id {cases} END, "  # noqa: S608
        f"updated_at = %s WHERE id IN ({placeholders(len(ids))}){condition}",
        [*added, now, *ids, *(added if within_on_hand else [])],
    )


def _allocations_insert(holder: str, placed: list[tuple[int, int]], *, now: datetime) -> None:
    rows = ", ".join(["(%s, %s, %s, %s)"] * len(placed))
    execute(
        f"INSERT INTO {table(Allocation)} (stock_level_id, holder, quantity, created_at) "  # noqa: S608
        f"VALUES {rows}",
        [value for level_id, units in placed for value in (level_id, holder, units, now)],
    )


def stock_ensure_available(*, channel: Channel, lines: Iterable[StockLine]) -> None:
    """Raise InsufficientStock when the channel plainly lacks the units: one read, no locks.

    For a sold-out SKU the answer comes without queueing behind the checkouts that hold
    its stock rows. Passing is no promise: `stock_allocate` decides under the locks.
    """
    merged = lines_merge(lines)
    available = channel_availability(channel=channel, variant_ids=merged)
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
        levels = stock_levels_lock_by_id(level_ids)
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
    merged = lines_merge(lines)
    with transaction.atomic():
        levels = stock_levels_lock(variant_ids=merged, warehouse_ids=[warehouse.pk])
        allocations = allocations_lock(holder=holder, level_ids=[lv.pk for lv in levels.values()])
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


def reservations_purge_expired(*, before: datetime | None = None, batch_size: int = 1000) -> int:
    """Delete reservations that have expired (they already stopped counting); returns rows.

    In short transactions of at most `batch_size` rows, each skipping the rows another
    transaction holds (a checkout deleting its cart's holds): the purge never waits, so
    it never deadlocks and never holds up a checkout; what it skipped goes next time.
    """
    before = before or timezone.now()
    deleted = 0
    while True:
        with transaction.atomic():
            ids = reservations_lock_expired(before=before, limit=batch_size)
            if ids:
                Reservation.objects.filter(pk__in=ids).delete()
        deleted += len(ids)
        if len(ids) < batch_size:
            return deleted
