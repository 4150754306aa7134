"""Holds on stock: cart reservations, order allocations, release, and shipping out."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from contextlib import nullcontext
from datetime import datetime, timedelta

from django.db import connection, transaction
from django.db.models import Min, Sum
from django.utils import timezone

from backoffice.sql import execute, fetch, placeholders, table
from catalog.models import Channel
from inventory.available import (
    channel_availability,
    free_units,
    reserved_by_level,
    reserved_by_level_and_held_until,
)
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
    warehouse_id: int | None = None,
) -> list[Reservation]:
    """Hold stock for a cart (or a link's allotment, or a checkout while its payment is
    taken) in the channel's warehouses.

    Replaces the holder's earlier holds on these variants, so changing a quantity
    re-reserves; a `fresh` holder (named for this hold alone, e.g. a checkout's while its
    payment is taken) has none, and writes its holds with a plain insert. All lines or
    none: raises InsufficientStock listing each short SKU with what is available. A TTL
    of 0 creates no holds (POS) but still checks. With `warehouse_id`, only that
    warehouse's stock counts (an on-demand delivery leaves from its zone's store).
    """
    return _reserve(
        channel=channel,
        holder=holder,
        lines=lines,
        ttl_seconds=ttl_seconds,
        fresh=fresh,
        warehouse_id=warehouse_id,
    )[0]


def stock_reserve_held_until(
    *, channel: Channel, holder: str, lines: Iterable[StockLine], ttl_seconds: int | None = None
) -> datetime | None:
    """`stock_reserve`, returning when the holder's first active hold expires afterwards
    (a cart's `reserved_until`), from the holds read under the lock: no read after it."""
    reservations, elsewhere = _reserve(
        channel=channel, holder=holder, lines=lines, ttl_seconds=ttl_seconds, held_until=True
    )
    expiries = [r.expires_at for r in reservations] + ([elsewhere] if elsewhere else [])
    return min(expiries, default=None)


def _reserve(
    *,
    channel: Channel,
    holder: str,
    lines: Iterable[StockLine],
    ttl_seconds: int | None,
    fresh: bool = False,
    warehouse_id: int | None = None,
    held_until: bool = False,
) -> tuple[list[Reservation], datetime | None]:
    """The holds made, and (with `held_until`) the holder's first active expiry on other
    variants."""
    merged = lines_merge(lines)
    ttl = channel.reservation_ttl_seconds if ttl_seconds is None else ttl_seconds
    # Inside the caller's transaction, no savepoint of our own (as `stock_allocate`): a
    # refusal is raised before anything is written. On its own, a transaction of its own.
    in_transaction = transaction.get_connection().in_atomic_block
    with nullcontext() if in_transaction else transaction.atomic():
        levels, warehouse_ids = stock_levels_lock_in_channel(
            channel=channel, variant_ids=merged, warehouse_id=warehouse_id
        )
        level_ids = [level.pk for level in levels.values()]
        elsewhere = None
        if held_until:
            others, own, elsewhere = reserved_by_level_and_held_until(level_ids, holder, merged)
        else:
            others, own = reserved_by_level(level_ids, holder)
        # What others saw before, with this holder's earlier holds still counted, so
        # re-reserving a cart does not look like a fresh fall below the threshold.
        before = free_units(
            levels, {lv: others.get(lv, 0) + own.get(lv, 0) for lv in others.keys() | own.keys()}
        )
        free = free_units(levels, others)
        placements = placements_plan(merged, warehouse_ids, levels, free)
        reservations = []
        if ttl > 0:
            now = timezone.now()
            expires_at = now + timedelta(seconds=ttl)
            reservations = [
                Reservation(
                    stock_level_id=p.stock_level_id,
                    holder=holder,
                    quantity=p.quantity,
                    expires_at=expires_at,
                    created_at=now,
                )
                for p in placements_by_level(placements)
            ]
        _holds_replace(holder, list(merged), reservations, fresh=fresh)
        if ttl > 0:
            low_stock_record(levels, merged, before=before, after=free)
    return reservations, elsewhere


def _holds_replace(
    holder: str, variant_ids: list[int], reservations: list[Reservation], *, fresh: bool = False
) -> None:
    """Replace the holder's holds on these variants by `reservations` (their ids set); a
    `fresh` holder has none to replace (one plain insert).

    PostgreSQL: one statement, the holds on other rows deleted in a `WITH` and the new ones
    written over the holder's row on the same level (`ON CONFLICT`: the unique (level,
    holder)), so the two never touch the same row. SQLite: a delete, then an insert.
    """
    if fresh:
        Reservation.objects.bulk_create(reservations)
        return
    if connection.vendor != "postgresql" or not reservations:
        Reservation.objects.filter(holder=holder, stock_level__variant_id__in=variant_ids).delete()
        Reservation.objects.bulk_create(reservations)
        return
    kept = [r.stock_level_id for r in reservations]
    rows = ", ".join(["(%s, %s, %s, %s, %s)"] * len(reservations))
    ids = dict(
        (level_id, pk)
        for pk, level_id in fetch(
            f"WITH gone AS (DELETE FROM {table(Reservation)} WHERE holder = %s "  # noqa: S608
            f"AND stock_level_id IN (SELECT id FROM {table(StockLevel)} "
            f"WHERE variant_id IN ({placeholders(len(variant_ids))})) "
            f"AND stock_level_id NOT IN ({placeholders(len(kept))})) "
            f"INSERT INTO {table(Reservation)} "
            "(stock_level_id, holder, quantity, expires_at, created_at) "
            f"VALUES {rows} ON CONFLICT (stock_level_id, holder) DO UPDATE SET "
            "quantity = EXCLUDED.quantity, expires_at = EXCLUDED.expires_at, "
            "created_at = EXCLUDED.created_at RETURNING id, stock_level_id",
            [
                holder,
                *variant_ids,
                *kept,
                *(
                    value
                    for r in reservations
                    for value in (r.stock_level_id, holder, r.quantity, r.expires_at, r.created_at)
                ),
            ],
        )
    )
    for reservation in reservations:
        reservation.pk = ids[reservation.stock_level_id]
        reservation._state.adding, reservation._state.db = False, connection.alias


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
    warehouse_id: int | None = None,
) -> list[Placement]:
    """Promise stock to a placed order: its cart's reservations turn into allocations.

    Units the cart still holds (unexpired) are used first; the rest comes from what
    is available, so a cart whose holds expired still completes while stock lasts.
    With `warehouse_id`, only that warehouse's stock counts (the cart's holds elsewhere
    are released). Call inside the order's transaction. Raises InsufficientStock.
    """
    merged = lines_merge(lines)
    # Inside the caller's transaction, no savepoint of our own: a refusal is raised before
    # anything is written, and releasing a savepoint would be one more round trip while
    # the rows are locked. On its own, it is a transaction of its own.
    in_transaction = transaction.get_connection().in_atomic_block
    with nullcontext() if in_transaction else transaction.atomic():
        levels, warehouse_ids = stock_levels_lock_in_channel(
            channel=channel, variant_ids=merged, warehouse_id=warehouse_id
        )
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
    *,
    channel: Channel,
    holder: str,
    hold: str,
    lines: Iterable[StockLine],
    warehouse_id: int | None = None,
) -> None:
    """Turn a hold made for exactly these lines (`stock_reserve` with a `fresh` holder, a
    checkout's while its payment was taken) into the order's allocation.

    Its units were counted out under the stock locks when the hold was made, so the stock
    rows are not read again. On PostgreSQL one statement does it all (`_held_allocate`):
    the hold's rows deleted, its levels locked in id order (the lock order), their
    `allocated` grown by them where still on hand, the allocations inserted. A hold
    that lapsed, or is not what these lines need, changes no level: the lines take the
    full path of `stock_allocate`. A level whose stock was counted down meanwhile below
    what was held raises InsufficientStock (the caller's transaction rolls back, the
    levels updated here too). Call inside the order's transaction.
    """
    merged = lines_merge(lines)
    wanted = sum(line.quantity for line in merged.values())
    now = timezone.now()
    if connection.vendor == "postgresql":
        held, raised = _held_allocate(holder, hold, wanted, now=now)
    else:
        held, raised = _held_allocate_in_steps(holder, hold, wanted, now=now)
    if held is None:
        stock_allocate(
            channel=channel, holder=holder, lines=merged.values(), warehouse_id=warehouse_id
        )
        return
    if raised != held:
        available = channel_availability(channel=channel, variant_ids=merged)
        short = [
            {"sku": line.variant.sku, "requested": line.quantity, "available": available[vid]}
            for vid, line in merged.items()
        ]
        raise InsufficientStock(
            [line for line in short if line["available"] < line["requested"]] or short
        )


def _held_allocate(holder: str, hold: str, wanted: int, *, now: datetime) -> tuple[int | None, int]:
    """One statement: (levels held, levels raised), or (None, 0) for a hold not usable."""
    reservation, level, allocation = table(Reservation), table(StockLevel), table(Allocation)
    rows = fetch(
        f"WITH gone AS (DELETE FROM {reservation} WHERE holder = %s "  # noqa: S608
        "RETURNING stock_level_id, quantity, expires_at > %s AS active), "
        # The levels locked in id order before any is updated (the lock order: an UPDATE
        # joined to `wanted` would lock them in whatever order its join yields them).
        "usable AS (SELECT COALESCE(BOOL_AND(active), FALSE) AND SUM(quantity) = %s "
        f"AND (SELECT COUNT(*) FROM (SELECT s.id FROM {level} s WHERE s.id IN "
        "(SELECT stock_level_id FROM gone) ORDER BY s.id FOR UPDATE) AS locked) >= 0 AS ok "
        "FROM gone), "
        "wanted AS (SELECT stock_level_id, SUM(quantity) AS quantity FROM gone "
        "WHERE (SELECT ok FROM usable) GROUP BY stock_level_id), "
        f"raised AS (UPDATE {level} SET allocated = {level}.allocated + wanted.quantity, "
        "updated_at = %s FROM wanted WHERE "
        f"{level}.id = wanted.stock_level_id "
        f"AND {level}.allocated + wanted.quantity <= {level}.on_hand "
        f"RETURNING {level}.id, wanted.quantity), "
        f"inserted AS (INSERT INTO {allocation} (stock_level_id, holder, quantity, created_at) "
        "SELECT id, %s, quantity, %s FROM raised RETURNING 1) "
        "SELECT (SELECT ok FROM usable), (SELECT COUNT(*) FROM wanted), "
        "(SELECT COUNT(*) FROM inserted)",
        [hold, now, wanted, now, holder, now],
    )
    ok, held, raised = rows[0]
    return (held, raised) if ok else (None, 0)


def _held_allocate_in_steps(
    holder: str, hold: str, wanted: int, *, now: datetime
) -> tuple[int | None, int]:
    """`_held_allocate` as three statements (SQLite has no data-modifying WITH)."""
    rows = fetch(
        f"DELETE FROM {table(Reservation)} WHERE holder = %s "  # noqa: S608
        "RETURNING stock_level_id, quantity, CASE WHEN expires_at > %s THEN 1 ELSE 0 END",
        [hold, now],
    )
    if not rows or not all(row[2] for row in rows) or sum(row[1] for row in rows) != wanted:
        return None, 0
    placed: dict[int, int] = defaultdict(int)
    for level_id, quantity, _ in rows:
        placed[level_id] += quantity
    level = table(StockLevel)
    cases = " ".join(["WHEN %s THEN %s"] * len(placed))
    added = [value for pair in placed.items() for value in pair]
    raised = execute(
        f"UPDATE {level} SET allocated = allocated + CASE id {cases} END, updated_at = %s "  # noqa: S608
        f"WHERE id IN ({placeholders(len(placed))}) "
        f"AND allocated + CASE id {cases} END <= on_hand",
        [*added, now, *placed, *added],
    )
    if raised == len(placed):
        _allocations_write_rows(holder, list(placed.items()), now=now)
    return len(placed), raised


def _allocations_write_rows(holder: str, placed: list[tuple[int, int]], *, now: datetime) -> None:
    rows = ", ".join(["(%s, %s, %s, %s)"] * len(placed))
    execute(
        f"INSERT INTO {table(Allocation)} (stock_level_id, holder, quantity, created_at) "  # noqa: S608
        f"VALUES {rows}",
        [value for level_id, units in placed for value in (level_id, holder, units, now)],
    )


def _allocations_write(holder: str, placements: list[Placement]) -> None:
    """Add the placed units to their levels and record them as the holder's: one statement
    on PostgreSQL (the update in a `WITH`), two on SQLite.

    The levels are locked by the caller; `allocated` grows by the placed units in the
    database itself, and the constraints on StockLevel still guard it.
    """
    if not placements:
        return
    now = timezone.now()
    ids = [p.stock_level_id for p in placements]
    cases = " ".join(["WHEN %s THEN %s"] * len(placements))
    added = [value for p in placements for value in (p.stock_level_id, p.quantity)]
    update = (
        f"UPDATE {table(StockLevel)} SET allocated = allocated + CASE id {cases} END, "  # noqa: S608
        f"updated_at = %s WHERE id IN ({placeholders(len(ids))})"
    )
    update_params = [*added, now, *ids]
    rows = ", ".join(["(%s, %s, %s, %s)"] * len(placements))
    insert = (
        f"INSERT INTO {table(Allocation)} (stock_level_id, holder, quantity, created_at) "  # noqa: S608
        f"VALUES {rows}"
    )
    insert_params = [
        value for p in placements for value in (p.stock_level_id, holder, p.quantity, now)
    ]
    if connection.vendor == "postgresql":
        # A data-modifying WITH always runs to completion, referenced or not.
        execute(f"WITH raised AS ({update}) {insert}", [*update_params, *insert_params])
        return
    execute(update, update_params)
    execute(insert, insert_params)


def stock_ensure_available(
    *, channel: Channel, lines: Iterable[StockLine], available: dict[int, int] | None = None
) -> None:
    """Raise InsufficientStock when the channel plainly lacks the units: one read, no locks.

    For a sold-out SKU the answer comes without queueing behind the checkouts that hold
    its stock rows. Passing is no promise: `stock_allocate` decides under the locks.
    `available` (units by variant id, read by the caller with the rule's SQL form
    `inventory.available.channel_available_sql`) spares the read.
    """
    merged = lines_merge(lines)
    if available is None:
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
