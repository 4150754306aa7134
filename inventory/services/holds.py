"""Holds on stock: cart reservations, order allocations, release, and shipping out."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from contextlib import nullcontext
from datetime import datetime, timedelta

from django.db import connection, transaction
from django.db.models import Min
from django.utils import timezone

from backoffice.sql import execute, fetch, lock_rows_of, placeholders, table
from catalog.models import Channel
from catalog.stock_versions import stock_versions_counted_first_sql
from inventory.available import (
    available_sql,
    channel_availability,
    free_after_purge_sql,
    free_units,
    reserved_by_level,
    reserved_by_level_and_held_until,
)
from inventory.errors import InsufficientStock, StockConflict
from inventory.hold_active import hold_active_q, hold_active_sql
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
    WarehouseChannel,
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
    if fresh and ttl > 0 and connection.vendor == "postgresql":
        reservations = _hold_in_one_statement(
            channel=channel, holder=holder, lines=merged, ttl=ttl, warehouse_id=warehouse_id
        )
        if reservations is not None:
            return reservations, None
        # Not held: some line has too few units in any single warehouse, as this
        # statement's snapshot or the locked rows said. The full path decides under the
        # locks (splitting a line across warehouses, or InsufficientStock as always).
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


def _hold_in_one_statement(
    *,
    channel: Channel,
    holder: str,
    lines: dict[int, StockLine],
    ttl: int,
    warehouse_id: int | None,
) -> list[Reservation] | None:
    """A fresh holder's hold as one autocommitted statement (PostgreSQL), or None when it
    held nothing (a line lacked the units in every single warehouse).

    Each line comes from the first warehouse in the channel's priority order that has
    all its units (what `placements_plan` chooses for a holder without holds), picked
    from the statement's snapshot. Then, in this order inside the one statement:

    1. `locked`: those stock rows `FOR UPDATE`, in id order (the lock order). A row that
       another buyer held is read again as that buyer committed it;
    2. `expired`: the expired holds of those rows deleted, `SKIP LOCKED` (a hold another
       transaction is deleting or converting is left to it: the purge never waits either,
       so no two of them wait on each other), after the lock (a one-time filter on
       `locked`): deleted only under the row lock, as every other writer of holds does;
    3. `decided`: each row's free units, `on_hand - allocated - (reserved_units - purged)`
       from the locked row's own columns (`inventory.available.free_after_purge_sql`), and
       `ok` when every line has its units: all lines or none;
    4. `counted`: `reserved_units` less the purged units, plus the held ones when `ok`;
       the reservations inserted when `ok`.

    An expired hold not yet purged thus frees its units for this buyer at once, and the
    counter stays the sum of the level's reservation rows. The rows are locked from step
    1 to the statement's own commit: no round trip while they are held.

    Before step 1 (`versioned`, on which `candidate` depends), the statement adds to the
    stock version of the lines' products itself and marks itself counted
    (`catalog.stock_versions.stock_versions_counted_first_sql`): the stock rows'
    triggers skip its writes, so under the lock runs the UPDATE, the inserts and the
    commit, and no trigger.
    """
    level, reservation, wc, warehouse = (
        table(StockLevel),
        table(Reservation),
        table(WarehouseChannel),
        table(Warehouse),
    )
    now = timezone.now()
    expires_at = now + timedelta(seconds=ttl)
    wanted = ", ".join(["(%s::bigint, %s::integer)"] * len(lines))
    wanted_params = [value for vid, line in lines.items() for value in (vid, line.quantity)]
    available, available_params = available_sql("s", now)
    only = " AND s.warehouse_id = %s" if warehouse_id is not None else ""
    only_params = [warehouse_id] if warehouse_id is not None else []
    free = free_after_purge_sql("l", "COALESCE(f.units, 0)")
    active, active_params = hold_active_sql("r", now)
    rows = fetch(
        f"WITH wanted (variant_id, quantity) AS (VALUES {wanted}), "  # noqa: S608
        f"{stock_versions_counted_first_sql('versioned', 'SELECT variant_id FROM wanted')}, "
        "candidate AS (SELECT DISTINCT ON (s.variant_id) s.id, s.variant_id, "
        f"s.warehouse_id, n.quantity FROM {level} s "
        "JOIN wanted n ON n.variant_id = s.variant_id "
        f"JOIN {wc} wc ON wc.warehouse_id = s.warehouse_id "
        f"JOIN {warehouse} w ON w.id = s.warehouse_id "
        f"WHERE (SELECT ready FROM versioned) AND wc.channel_id = %s AND w.active{only} "
        f"AND {available} >= n.quantity "
        "ORDER BY s.variant_id, wc.priority, s.warehouse_id), "
        f"locked AS (SELECT s.id, s.on_hand, s.allocated, s.reserved_units FROM {level} s "
        "WHERE s.id IN (SELECT id FROM candidate) ORDER BY s.id FOR UPDATE), "
        f"expired AS (DELETE FROM {reservation} WHERE id IN (SELECT r.id FROM {reservation} r "
        f"WHERE r.stock_level_id IN (SELECT id FROM candidate) AND NOT ({active}) "
        "AND (SELECT COUNT(*) FROM locked) >= 0 FOR UPDATE SKIP LOCKED) "
        "RETURNING stock_level_id, quantity), "
        "freed AS (SELECT stock_level_id, SUM(quantity) AS units FROM expired "
        "GROUP BY stock_level_id), "
        f"decided AS (SELECT c.id, c.variant_id, c.warehouse_id, c.quantity, {free} AS free, "
        "COALESCE(f.units, 0) AS purged FROM candidate c JOIN locked l ON l.id = c.id "
        "LEFT JOIN freed f ON f.stock_level_id = c.id), "
        "verdict AS (SELECT COUNT(*) = %s AND COALESCE(BOOL_AND(free >= quantity), FALSE) "
        "AS ok FROM decided), "
        f"counted AS (UPDATE {level} s SET reserved_units = s.reserved_units - d.purged "
        "+ CASE WHEN (SELECT ok FROM verdict) THEN d.quantity ELSE 0 END FROM decided d "
        "WHERE s.id = d.id AND ((SELECT ok FROM verdict) OR d.purged > 0) RETURNING s.id), "
        f"held AS (INSERT INTO {reservation} "
        "(stock_level_id, holder, quantity, expires_at, created_at) "
        "SELECT id, %s, quantity, %s, %s FROM decided WHERE (SELECT ok FROM verdict) "
        "RETURNING id, stock_level_id) "
        "SELECT (SELECT ok FROM verdict), d.id, d.variant_id, d.warehouse_id, d.quantity, "
        "d.free, h.id FROM decided d LEFT JOIN held h ON h.stock_level_id = d.id",
        [
            *wanted_params,
            channel.pk,
            *only_params,
            *available_params,
            *active_params,
            len(lines),
            holder,
            expires_at,
            now,
        ],
    )
    if not rows or not rows[0][0]:
        return None
    reservations, levels, before, after = [], {}, {}, {}
    for _, level_id, variant_id, warehouse_id_, quantity, free_units_, pk in rows:
        stock = StockLevel(id=level_id, variant_id=variant_id, warehouse_id=warehouse_id_)
        levels[(variant_id, warehouse_id_)] = stock
        before[level_id], after[level_id] = free_units_, free_units_ - quantity
        hold = Reservation(
            id=pk,
            stock_level_id=level_id,
            holder=holder,
            quantity=quantity,
            expires_at=expires_at,
            created_at=now,
        )
        hold._state.adding, hold._state.db = False, connection.alias
        reservations.append(hold)
    # The stock.low event, on the crossing only, after the statement (the rows are free).
    low_stock_record(levels, lines, before=before, after=after)
    return reservations


def _holds_replace(
    holder: str, variant_ids: list[int], reservations: list[Reservation], *, fresh: bool = False
) -> None:
    """Replace the holder's holds on these variants by `reservations` (their ids set); a
    `fresh` holder has none to replace (one plain insert). The levels' `reserved_units`
    follow: the new units added, the replaced ones (expired or not) taken off.

    PostgreSQL: one statement, the holds on other rows deleted in a `WITH`, the holder's
    rows on the kept levels read as they were before it (its snapshot: the caller holds
    the stock rows' locks, under which alone holds change), the counters changed by the
    difference, and the new holds written over the holder's row on the same level
    (`ON CONFLICT`: the unique (level, holder)), so no two parts touch the same row.
    SQLite: the old holds read, deleted, the new inserted, the counters changed.
    Call with the levels locked.
    """
    if fresh:
        Reservation.objects.bulk_create(reservations)
        reserved_units_add({r.stock_level_id: r.quantity for r in reservations})
        return
    if connection.vendor != "postgresql" or not reservations:
        replaced = Reservation.objects.filter(
            holder=holder, stock_level__variant_id__in=variant_ids
        )
        deltas: dict[int, int] = defaultdict(int)
        for level_id, quantity in replaced.values_list("stock_level_id", "quantity"):
            deltas[level_id] -= quantity
        replaced.delete()
        Reservation.objects.bulk_create(reservations)
        for r in reservations:
            deltas[r.stock_level_id] += r.quantity
        reserved_units_add(deltas)
        return
    kept = [r.stock_level_id for r in reservations]
    reservation, level = table(Reservation), table(StockLevel)
    rows = ", ".join(["(%s::bigint, %s::integer, %s::timestamptz, %s::timestamptz)"] * len(kept))
    ids = dict(
        (level_id, pk)
        for pk, level_id in fetch(
            f"WITH new (stock_level_id, quantity, expires_at, created_at) AS (VALUES {rows}), "  # noqa: S608
            f"gone AS (DELETE FROM {reservation} WHERE holder = %s "
            f"AND stock_level_id IN (SELECT id FROM {level} "
            f"WHERE variant_id IN ({placeholders(len(variant_ids))})) "
            f"AND stock_level_id NOT IN ({placeholders(len(kept))}) "
            "RETURNING stock_level_id, quantity), "
            f"old AS (SELECT stock_level_id, quantity FROM {reservation} WHERE holder = %s "
            f"AND stock_level_id IN ({placeholders(len(kept))})), "
            "changes AS (SELECT stock_level_id, SUM(quantity) AS delta FROM ("
            "SELECT stock_level_id, quantity FROM new UNION ALL "
            "SELECT stock_level_id, -quantity FROM old UNION ALL "
            "SELECT stock_level_id, -quantity FROM gone) AS d GROUP BY stock_level_id), "
            f"counted AS (UPDATE {level} s SET reserved_units = s.reserved_units + c.delta "
            "FROM changes c WHERE s.id = c.stock_level_id AND c.delta <> 0 RETURNING 1) "
            f"INSERT INTO {reservation} "
            "(stock_level_id, holder, quantity, expires_at, created_at) "
            "SELECT stock_level_id, %s, quantity, expires_at, created_at FROM new "
            "ON CONFLICT (stock_level_id, holder) DO UPDATE SET "
            "quantity = EXCLUDED.quantity, expires_at = EXCLUDED.expires_at, "
            "created_at = EXCLUDED.created_at RETURNING id, stock_level_id",
            [
                *(
                    value
                    for r in reservations
                    for value in (r.stock_level_id, r.quantity, r.expires_at, r.created_at)
                ),
                holder,
                *variant_ids,
                *kept,
                holder,
                *kept,
                holder,
            ],
        )
    )
    for reservation_ in reservations:
        reservation_.pk = ids[reservation_.stock_level_id]
        reservation_._state.adding, reservation_._state.db = False, connection.alias


def reserved_units_add(deltas: dict[int, int]) -> None:
    """Add units (or take them off, negative) to the levels' `reserved_units`, locked by
    the caller: one statement. For a workflow that writes holds with the ORM."""
    deltas = {level_id: delta for level_id, delta in deltas.items() if delta}
    if not deltas:
        return
    cases = " ".join(["WHEN %s THEN %s"] * len(deltas))
    execute(
        f"UPDATE {table(StockLevel)} SET reserved_units = reserved_units + "  # noqa: S608
        f"CASE id {cases} ELSE 0 END WHERE id IN ({placeholders(len(deltas))})",
        [*(value for pair in deltas.items() for value in pair), *deltas],
    )


def _holds_delete(where: str, params: list) -> tuple[int, int]:
    """Delete the reservations `where` says (a condition on the reservation table's own
    columns) and take their units off their levels' `reserved_units`; returns (rows, units).

    PostgreSQL: one statement (the delete in a `WITH`); SQLite: the delete `RETURNING`,
    then the counters. Call with the levels locked (or `where` skipping rows locked by
    others), so the two never disagree.
    """
    reservation, level = table(Reservation), table(StockLevel)
    delete = f"DELETE FROM {reservation} WHERE {where} RETURNING stock_level_id, quantity"  # noqa: S608
    if connection.vendor == "postgresql":
        return fetch(
            f"WITH gone AS ({delete}), "  # noqa: S608
            "freed AS (SELECT stock_level_id, SUM(quantity) AS units FROM gone "
            "GROUP BY stock_level_id), "
            f"counted AS (UPDATE {level} s SET reserved_units = s.reserved_units - f.units "
            "FROM freed f WHERE s.id = f.stock_level_id RETURNING 1) "
            "SELECT (SELECT COUNT(*) FROM gone), COALESCE(SUM(units), 0) FROM freed",
            params,
        )[0]
    freed: dict[int, int] = defaultdict(int)
    rows = fetch(delete, params)
    for level_id, quantity in rows:
        freed[level_id] -= quantity
    reserved_units_add(freed)
    return len(rows), -sum(freed.values())


def _holds_levels_lock(where: str, params: list, *, skip_locked: bool = False) -> list[int]:
    """Lock, in id order, the stock rows of the reservations `where` says; returns their ids.
    With `skip_locked`, rows another transaction holds are left out (the purge)."""
    lock = lock_rows_of("s")
    if lock and skip_locked:
        lock += " SKIP LOCKED"
    return [
        row[0]
        for row in fetch(
            f"SELECT s.id FROM {table(StockLevel)} s WHERE s.id IN "  # noqa: S608
            f"(SELECT stock_level_id FROM {table(Reservation)} WHERE {where}) "
            f"ORDER BY s.id{lock}",
            params,
        )
    ]


def stock_release(*, holder: str, variant_ids: Iterable[int] | None = None) -> int:
    """Drop a holder's reservations (all, or for some variants) at once; returns units freed
    (expired ones included: their units leave `reserved_units` too).

    The levels are locked first, in id order, then the holds deleted with their counters
    (`_holds_delete`): holds change only under their level's lock (docs/architecture.md).
    """
    where, params = "holder = %s", [holder]
    if variant_ids is not None:
        variant_ids = list(variant_ids)
        if not variant_ids:
            return 0
        where += (
            f" AND stock_level_id IN (SELECT id FROM {table(StockLevel)} "  # noqa: S608
            f"WHERE variant_id IN ({placeholders(len(variant_ids))}))"
        )
        params += variant_ids
    in_transaction = transaction.get_connection().in_atomic_block
    with nullcontext() if in_transaction else transaction.atomic():
        if not _holds_levels_lock(where, params):
            return 0
        return _holds_delete(where, params)[1]


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
        # The cart's holds elsewhere (another warehouse than `warehouse_id`'s, or one the
        # channel no longer ships from) are deleted below: their rows locked with the rest.
        levels, warehouse_ids = stock_levels_lock_in_channel(
            channel=channel,
            variant_ids=merged,
            warehouse_id=warehouse_id,
            holds_of=reservation_holder or None,
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
            # The cart's holds become the allocations: deleted with their counters.
            _holds_delete("holder = %s", [reservation_holder])
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
    wanted = {variant_id: line.quantity for variant_id, line in merged.items()}
    now = timezone.now()
    if connection.vendor == "postgresql":
        held, raised = _held_allocate(holder, hold, wanted, warehouse_id, now=now)
    else:
        held, raised = _held_allocate_in_steps(holder, hold, wanted, warehouse_id, now=now)
    if held is None:
        stock_allocate(
            channel=channel, holder=holder, lines=merged.values(), warehouse_id=warehouse_id
        )
        return
    if raised != held:
        raise _held_short(channel, merged)


def _held_short(channel: Channel, merged: dict[int, StockLine]) -> InsufficientStock:
    """The refusal of a hold whose levels were counted down below it meanwhile: the lines
    short of what is available now (all of them if none is, the shortfall being gone)."""
    available = channel_availability(channel=channel, variant_ids=merged)
    short = [
        {"sku": line.variant.sku, "requested": line.quantity, "available": available[vid]}
        for vid, line in merged.items()
    ]
    return InsufficientStock(
        [line for line in short if line["available"] < line["requested"]] or short
    )


def _held_allocate(
    holder: str, hold: str, wanted: dict[int, int], warehouse_id: int | None, *, now: datetime
) -> tuple[int | None, int]:
    """One statement: (levels held, levels raised), or (None, 0) for a hold not usable.

    The hold's rows are deleted whatever they are, and their units taken off the levels'
    `reserved_units`; only a usable hold raises `allocated` and writes the allocations.
    Usable: every hold still active, and its units per SKU exactly the lines' (`wanted`,
    units by variant id; with `warehouse_id`, all of them in that warehouse): a hold of
    2 x A + 1 x B is no allocation for 1 x A + 2 x B, though both are three units.
    """
    reservation, level, allocation = table(Reservation), table(StockLevel), table(Allocation)
    values = ", ".join(["(%s::bigint, %s::bigint)"] * len(wanted))
    only = " AND l.warehouse_id = %s" if warehouse_id is not None else ""
    rows = fetch(
        f"WITH wanted (variant_id, quantity) AS (VALUES {values}), "  # noqa: S608
        f"gone AS (DELETE FROM {reservation} WHERE holder = %s "
        "RETURNING stock_level_id, quantity, expires_at > %s AS active), "
        # The levels locked in id order before any is updated (the lock order: an UPDATE
        # joined to `held` would lock them in whatever order its join yields them), and
        # read as locked: as the previous holder of the lock committed them.
        f"locked AS (SELECT s.id, s.variant_id, s.warehouse_id, s.on_hand, s.allocated "
        f"FROM {level} s WHERE s.id IN "
        "(SELECT stock_level_id FROM gone) ORDER BY s.id FOR UPDATE), "
        "held AS (SELECT g.stock_level_id, SUM(g.quantity) AS quantity FROM gone g "
        "GROUP BY g.stock_level_id), "
        # The held units per SKU (those in the wrong warehouse left out), against the lines.
        "per_sku AS (SELECT l.variant_id, SUM(h.quantity) AS quantity FROM held h "
        f"JOIN locked l ON l.id = h.stock_level_id{only} GROUP BY l.variant_id), "
        "usable AS (SELECT (SELECT COUNT(*) FROM locked) >= 0 "
        "AND COALESCE((SELECT BOOL_AND(active) FROM gone), FALSE) AND NOT EXISTS "
        "(SELECT 1 FROM per_sku p FULL JOIN wanted w ON w.variant_id = p.variant_id "
        "WHERE p.quantity IS DISTINCT FROM w.quantity) AS ok), "
        "room AS (SELECT h.stock_level_id, h.quantity, "
        "l.allocated + h.quantity <= l.on_hand AS room FROM held h "
        "JOIN locked l ON l.id = h.stock_level_id), "
        # All levels or none: run by itself (autocommitted) no rollback undoes a part.
        "plan AS (SELECT stock_level_id, quantity, (SELECT ok FROM usable) "
        "AND (SELECT BOOL_AND(room) FROM room) AS fits FROM room), "
        f"raised AS (UPDATE {level} s SET allocated = s.allocated + CASE WHEN p.fits "
        "THEN p.quantity ELSE 0 END, reserved_units = s.reserved_units - p.quantity, "
        "updated_at = %s FROM plan p WHERE s.id = p.stock_level_id RETURNING s.id), "
        f"inserted AS (INSERT INTO {allocation} (stock_level_id, holder, quantity, created_at) "
        "SELECT stock_level_id, %s, quantity, %s FROM plan WHERE fits RETURNING 1) "
        "SELECT (SELECT ok FROM usable), (SELECT COUNT(*) FROM held), "
        "(SELECT COUNT(*) FROM inserted)",
        [
            *(value for pair in wanted.items() for value in pair),
            hold,
            now,
            *([warehouse_id] if warehouse_id is not None else []),
            now,
            holder,
            now,
        ],
    )
    ok, held, raised = rows[0]
    return (held, raised) if ok else (None, 0)


def _held_allocate_in_steps(
    holder: str, hold: str, wanted: dict[int, int], warehouse_id: int | None, *, now: datetime
) -> tuple[int | None, int]:
    """`_held_allocate` in steps (SQLite has no data-modifying WITH)."""
    rows = fetch(
        f"DELETE FROM {table(Reservation)} WHERE holder = %s "  # noqa: S608
        "RETURNING stock_level_id, quantity, CASE WHEN expires_at > %s THEN 1 ELSE 0 END",
        [hold, now],
    )
    placed: dict[int, int] = defaultdict(int)
    for level_id, quantity, _ in rows:
        placed[level_id] += quantity
    reserved_units_add({level_id: -units for level_id, units in placed.items()})
    per_sku: dict[int, int] = defaultdict(int)
    for level_id, variant_id, warehouse_id_ in StockLevel.objects.filter(pk__in=placed).values_list(
        "pk", "variant_id", "warehouse_id"
    ):
        if warehouse_id is None or warehouse_id_ == warehouse_id:
            per_sku[variant_id] += placed[level_id]
    if not rows or not all(row[2] for row in rows) or dict(per_sku) != wanted:
        return None, 0
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


CHECKOUT_HOLDER_PREFIX = "checkout:"


def stock_allocate_hold(
    *,
    channel: Channel,
    hold: str,
    lines: Iterable[StockLine],
    warehouse_id: int | None = None,
) -> int:
    """Turn a checkout's hold (a `fresh` holder named "checkout:...") into an allocation
    under the same name, committed by itself before the order's transaction begins;
    returns the allocation rows written. Call outside any transaction (inside a caller's,
    such as a till sale's, it is part of that one).

    Under the stock lock runs one statement on PostgreSQL (`_held_allocate`, all levels
    or none) and nothing else: it locks the hold's levels in id order, deletes the hold,
    lowers `reserved_units`, raises `allocated` where still on hand, inserts the
    allocations and commits by itself. No round trip to the client while the rows are
    locked, which is what kept a hot SKU's row locked across the order's `COMMIT`
    before. The order's transaction then only relabels the rows
    (`stock_allocation_relabel`), touching no stock row.

    A hold that lapsed or does not match the lines takes `stock_allocate`'s full path
    (its own short transaction, the same holder). A level counted down below what was
    held raises InsufficientStock with nothing allocated (the hold is gone by then on
    PostgreSQL, given back on SQLite: `stock_release` of it frees what is left). An
    allocation whose order never commits is given back by the caller
    (`stock_deallocate`), or by `allocations_sweep_orphaned` if its process died.
    """
    merged = lines_merge(lines)
    wanted = {variant_id: line.quantity for variant_id, line in merged.items()}
    now = timezone.now()
    if connection.vendor == "postgresql":
        held, raised = _held_allocate(hold, hold, wanted, warehouse_id, now=now)
    else:
        with transaction.atomic():
            held, raised = _held_allocate_in_steps(hold, hold, wanted, warehouse_id, now=now)
            if held is not None and raised != held:
                transaction.set_rollback(True)
    if held is None:
        placements = stock_allocate(
            channel=channel, holder=hold, lines=merged.values(), warehouse_id=warehouse_id
        )
        return len(placements)
    if raised != held:
        raise _held_short(channel, merged)
    return raised


def stock_allocation_relabel(*, hold: str, holder: str) -> int:
    """Give a checkout's allocation (`stock_allocate_hold`) to its order: one UPDATE of
    the allocation rows' holder, inside the order's transaction. Touches no stock row
    (the foreign key is unchanged, so not even a key-share lock on the level); returns
    the rows relabelled, 0 when the sweep gave them back meanwhile."""
    return len(fetch(*allocation_relabel_sql(hold=hold, holder=holder)))


def allocation_relabel_sql(*, hold: str, holder: str) -> tuple[str, list]:
    """`stock_allocation_relabel`'s statement (`RETURNING` one row per row relabelled),
    to run as part of another writing statement (the order's rows)."""
    return (
        f"UPDATE {table(Allocation)} SET holder = %s WHERE holder = %s RETURNING 1",  # noqa: S608
        [holder, hold],
    )


def allocations_sweep_orphaned(*, older_than: timedelta, batch_size: int = 500) -> int:
    """Give back allocations of checkout holders ("checkout:...") older than `older_than`:
    a checkout whose process died between `stock_allocate_hold` and its order's commit.
    Returns the units freed.

    One short transaction per batch of holders: their levels locked in id order, then
    their rows, both `SKIP LOCKED` (the sweep never waits, so it never deadlocks or holds
    up a checkout); a holder goes only whole (every row of it locked here, its level
    too). A checkout relabelling its rows at the same moment holds them locked: its
    holder is skipped; once it has committed its rows are the order's and no longer
    match. Idempotent: a second run finds nothing.
    """
    cutoff = timezone.now() - older_than
    freed = 0
    while True:
        with transaction.atomic():
            old = Allocation.objects.filter(
                holder__startswith=CHECKOUT_HOLDER_PREFIX, created_at__lt=cutoff
            )
            holders = list(
                old.order_by("holder").values_list("holder", flat=True).distinct()[:batch_size]
            )
            if not holders:
                return freed
            rows = old.filter(holder__in=holders)
            levels = stock_levels_lock_by_id(
                set(rows.values_list("stock_level_id", flat=True)), skip_locked=True
            )
            mine = list(
                rows.filter(stock_level_id__in=levels)
                .select_for_update(skip_locked=True)
                .order_by("id")
            )
            every = defaultdict(set)  # all of each holder's rows, old or not: whole or none
            for pk, holder_ in Allocation.objects.filter(holder__in=holders).values_list(
                "pk", "holder"
            ):
                every[holder_].add(pk)
            taken = {a.pk for a in mine}
            gone = [a for a in mine if every[a.holder] <= taken]
            if gone:
                _allocations_give_back(gone)
                freed += sum(a.quantity for a in gone)
        if len(holders) < batch_size or not gone:
            return freed


def _allocations_give_back(allocations: list[Allocation]) -> None:
    """Delete these allocation rows and take their units off `allocated` (levels locked)."""
    units: dict[int, int] = defaultdict(int)
    for allocation in allocations:
        units[allocation.stock_level_id] += allocation.quantity
    cases = " ".join(["WHEN %s THEN %s"] * len(units))
    execute(
        f"UPDATE {table(StockLevel)} SET allocated = allocated - CASE id {cases} END, "  # noqa: S608
        f"updated_at = %s WHERE id IN ({placeholders(len(units))})",
        [*(value for pair in units.items() for value in pair), timezone.now(), *units],
    )
    Allocation.objects.filter(pk__in=[a.pk for a in allocations]).delete()


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

    In short transactions of at most `batch_size` rows: the levels of expired holds locked
    in id order, skipping those another transaction holds (a checkout selling from them),
    then their expired holds deleted with their units taken off `reserved_units`,
    skipping holds another transaction holds (a checkout converting its own). The purge
    never waits, so it never deadlocks and never holds up a checkout; what it skipped
    goes next time (or with the next hold taken on that level, which purges it itself).
    """
    before = before or timezone.now()
    deleted = 0
    while True:
        with transaction.atomic():
            ids = reservations_lock_expired(before=before, limit=batch_size)
            if ids:
                where = f"id IN ({placeholders(len(ids))})"
                levels = _holds_levels_lock(where, ids, skip_locked=True)
                gone = 0
                if levels:
                    gone = _holds_delete(
                        f"{where} AND stock_level_id IN ({placeholders(len(levels))})",
                        [*ids, *levels],
                    )[0]
                deleted += gone
        # A full batch of which nothing could go (its levels busy): the rest goes next time.
        if len(ids) < batch_size or not gone:
            return deleted
