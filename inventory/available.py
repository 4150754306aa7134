"""The rule "available": what a stock level can still promise, and a variant in a channel.

For one stock level: `on_hand - allocated - active holds`, never below 0 (a hold is
active while `inventory.hold_active` says so). For a variant in a channel: the sum over
its stock levels in the channel's active warehouses (`channel_levels_sql`).

The units held are counted on the stock row itself: `reserved_units` is the units of
every reservation row of the level, kept by each statement that writes one
(`inventory.services.holds`). A hold past its `expires_at` stops counting at once, but
its row (and its units in `reserved_units`) stays until something deletes it: the purge,
or the next one-statement hold on that level, which deletes the level's expired holds
inside its own statement (`inventory.services.holds._hold_in_one_statement`). So the
active units are `reserved_units - expired units still present`, and the forms below
subtract the expired ones (an index range on (stock_level, expires_at) that is empty
once they are purged) instead of adding up the active ones. Why not count only active
holds on the row: expiry happens with no statement run, so no counter can follow it.

The rule is asked in three forms, kept here side by side, and
`tests/inventory/test_rule_parity.py` proves they agree on random data:

- Python: `available_units` for numbers in memory, `free_units` for rows locked by a
  workflow (`inventory.locks`) with their holds read by `reserved_by_level`;
- ORM: `stock_levels_with_availability` annotates `reserved` (the active units) and
  `available` on stock levels (the admin's stock list, the books check);
- SQL: `available_sql` for one level, `channel_availability` for a channel and
  `channel_available_sql` (the same, inside a query over variants), written out because
  every product page and checkout asks it (docs/performance.md); `free_after_purge_sql`
  for the one-statement hold, on a row it has locked and purged of its expired holds.

Each read form is one statement, so the counter and the expired rows it subtracts come
from one snapshot and agree. A statement that waits for a row lock is different: it
re-reads only that row when it gets it, while its subqueries keep the snapshot it
started with. That is why the one-statement hold decides on the locked row's counter
alone, after deleting (not reading) the expired holds, and why `reserved_by_level`
reads the holds in a statement of its own, after the rows are locked: that statement's
fresh snapshot (READ COMMITTED) counts the holds committed by whoever held the lock
before; a subquery inside the locking statement would not.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from django.db.models import F, IntegerField, OuterRef, QuerySet, Subquery, Sum, Value
from django.db.models.expressions import CombinedExpression
from django.db.models.functions import Coalesce, Greatest
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from backoffice.sql import fetch, greatest, placeholders, table
from catalog.models import Channel
from inventory.hold_active import hold_active_q, hold_active_sql
from inventory.models import Reservation, StockLevel, Warehouse, WarehouseChannel


# --- Python -------------------------------------------------------------------------------
def available_units(*, on_hand: int, allocated: int, reserved: int) -> int:
    """Units one stock level can still promise."""
    return max(0, on_hand - allocated - reserved)


def free_units(levels: dict, reserved: dict[int, int]) -> dict[int, int]:
    """`available_units` of stock levels in memory (locked by the caller), by level id;
    `reserved` maps a level id to its active held units (`reserved_by_level`)."""
    return {
        level.pk: available_units(
            on_hand=level.on_hand, allocated=level.allocated, reserved=reserved.get(level.pk, 0)
        )
        for level in levels.values()
    }


# --- ORM ----------------------------------------------------------------------------------
def reserved_expression(now: datetime | None = None) -> CombinedExpression:
    """For a StockLevel queryset: the units its active holds keep (0 without any): its
    counter less the units of its expired holds not yet purged."""
    expired = (
        Reservation.objects.filter(~hold_active_q(now), stock_level=OuterRef("pk"))
        .values("stock_level")
        .annotate(total=Sum("quantity"))
        .values("total")
    )
    return F("reserved_units") - Coalesce(Subquery(expired, output_field=IntegerField()), Value(0))


def stock_levels_with_availability(now: datetime | None = None) -> QuerySet[StockLevel]:
    """Stock levels annotated with `reserved` (active holds) and `available`."""
    return StockLevel.objects.annotate(reserved=reserved_expression(now)).annotate(
        available=Greatest(F("on_hand") - F("allocated") - F("reserved"), Value(0))
    )


# --- SQL ----------------------------------------------------------------------------------
def reserved_sql(level_alias: str, now: datetime | None = None) -> tuple[str, list]:
    """SQL: the active held units of stock level alias `level_alias`, and its parameters:
    its counter less its expired holds not yet purged."""
    active, params = hold_active_sql("r", now)
    return (
        f"({level_alias}.reserved_units - COALESCE((SELECT SUM(r.quantity) "  # noqa: S608
        f"FROM {table(Reservation)} r WHERE r.stock_level_id = {level_alias}.id "
        f"AND NOT ({active})), 0))",
        params,
    )


def free_after_purge_sql(level_alias: str, purged_units: str) -> str:
    """SQL: what a locked stock row can still promise once `purged_units` (an expression:
    the units of its expired holds the same statement deleted) are taken off its counter.

    Only the row's own columns: a statement that waited for the row's lock sees them as
    the previous holder committed them (see the module's note). Not clamped at 0: a hold
    asks for `>= n`.
    """
    a = level_alias
    return f"{a}.on_hand - {a}.allocated - ({a}.reserved_units - {purged_units})"


def available_sql(level_alias: str, now: datetime | None = None) -> tuple[str, list]:
    """SQL: the available units of stock level alias `level_alias`, and its parameters."""
    reserved, params = reserved_sql(level_alias, now)
    units = f"{level_alias}.on_hand - {level_alias}.allocated - {reserved}"
    return greatest(units, "0"), params


def _channel_levels_from(channel: Channel) -> tuple[str, list]:
    """`FROM ... WHERE` the stock rows (alias `s`) in the channel's active warehouses."""
    sql = (
        f"FROM {table(StockLevel)} s "
        f"JOIN {table(WarehouseChannel)} wc ON wc.warehouse_id = s.warehouse_id "
        f"JOIN {table(Warehouse)} w ON w.id = s.warehouse_id "
        f"WHERE wc.channel_id = %s AND w.active = %s"
    )
    return sql, [channel.pk, True]


def channel_levels_sql(
    *, channel: Channel, variant_ids: list[int], warehouse_id: int | None = None
) -> tuple[str, list]:
    """`FROM ... WHERE ...` for the variants' stock rows (alias `s`) in the channel's active
    warehouses (joined as `wc`, the route with its priority), and its parameters; with
    `warehouse_id`, in that one warehouse only (an on-demand delivery leaves from its store).

    What "in a channel" means for stock; shared by `channel_availability`,
    `channel_available_sql` and the row lock of every checkout
    (`inventory.locks.stock_levels_lock_in_channel`).
    """
    sql, params = _channel_levels_from(channel)
    sql = f"{sql} AND s.variant_id IN ({placeholders(len(variant_ids))})"
    params = [*params, *variant_ids]
    if warehouse_id is not None:
        return f"{sql} AND s.warehouse_id = %s", [*params, warehouse_id]
    return sql, params


def channel_available_sql(
    *, channel: Channel, variant_alias: str, now: datetime | None = None
) -> tuple[str, list]:
    """SQL: the units the variant of alias `variant_alias` can still sell in the channel (a
    scalar subquery, for a query over variants: checkout's `variants_for_sale`)."""
    available, params = available_sql("s", now)
    levels, level_params = _channel_levels_from(channel)
    return (
        f"(SELECT COALESCE(SUM({available}), 0) {levels} AND s.variant_id = {variant_alias}.id)",
        [*params, *level_params],
    )


def channel_availability(
    *, channel: Channel, variant_ids: Iterable[int], now: datetime | None = None
) -> dict[int, int]:
    """Units each variant can still sell in the channel, over its warehouses (one query)."""
    return _channel_availability(channel, variant_ids, now, with_expiry=False)[0]


def channel_availability_until(
    *, channel: Channel, variant_ids: Iterable[int], now: datetime | None = None
) -> tuple[dict[int, int], datetime | None]:
    """`channel_availability`, and the moment it next changes by itself: the first expiry
    of an active hold on those stock rows (None when none is held), in the same query.

    Until then only a write changes the answer; a cached copy of it (the store's product
    pages) is good until that moment or the next change of the stock version.
    """
    return _channel_availability(channel, variant_ids, now, with_expiry=True)


def _channel_availability(
    channel: Channel, variant_ids: Iterable[int], now: datetime | None, *, with_expiry: bool
) -> tuple[dict[int, int], datetime | None]:
    variant_ids = list(dict.fromkeys(variant_ids))
    if not variant_ids:
        return {}, None
    now = now or timezone.now()
    available, params = available_sql("s", now)
    expiry, expiry_params = "NULL", []
    if with_expiry:
        active, expiry_params = hold_active_sql("r", now)
        expiry = (
            f"(SELECT MIN(r.expires_at) FROM {table(Reservation)} r "  # noqa: S608
            f"WHERE r.stock_level_id = s.id AND {active})"
        )
    levels, level_params = channel_levels_sql(channel=channel, variant_ids=variant_ids)
    rows = fetch(
        f"SELECT s.variant_id, {available}, {expiry} {levels}",
        [*params, *expiry_params, *level_params],
    )
    units = dict.fromkeys(variant_ids, 0)
    expiries = []
    for variant_id, level_units, first_expiry in rows:
        units[variant_id] += level_units
        if first_expiry is not None:
            expiries.append(_as_datetime(first_expiry))
    return units, min(expiries, default=None)


def _as_datetime(value: datetime | str) -> datetime:
    """A raw query's timestamp (SQLite answers text) as an aware datetime."""
    if isinstance(value, str):
        value = parse_datetime(value)
    return value if timezone.is_aware(value) else timezone.make_aware(value, UTC)


def reserved_by_level(
    level_ids: list[int], holder: str | None = None, now: datetime | None = None
) -> tuple[dict[int, int], dict[int, int]]:
    """Active held units per stock level: everyone else's and `holder`'s own (one query).

    Read after the rows are locked, in a statement of its own (see the module's note).
    """
    if not level_ids:
        return {}, {}
    active, params = hold_active_sql("r", now)
    rows = fetch(
        "SELECT r.stock_level_id, "  # noqa: S608 - table name only
        "SUM(CASE WHEN r.holder = %s THEN 0 ELSE r.quantity END), "
        "SUM(CASE WHEN r.holder = %s THEN r.quantity ELSE 0 END) "
        f"FROM {table(Reservation)} r "
        f"WHERE r.stock_level_id IN ({placeholders(len(level_ids))}) AND {active} "
        "GROUP BY r.stock_level_id",
        [holder, holder, *level_ids, *params],
    )
    others = {level_id: int(total) for level_id, total, _ in rows if total}
    own = {level_id: int(total) for level_id, _, total in rows if total}
    return others, own


def reserved_by_level_and_held_until(
    level_ids: list[int],
    holder: str,
    replaced_variant_ids: Iterable[int],
    now: datetime | None = None,
) -> tuple[dict[int, int], dict[int, int], datetime | None]:
    """`reserved_by_level`, and when `holder`'s first active hold on any *other* variant
    expires (None without one), in the same one statement.

    For a workflow that replaces the holder's holds on `replaced_variant_ids` (a cart line
    change): its new first expiry is the earlier of this and its new holds', with no read
    after the write. Read after the rows are locked, as `reserved_by_level`.
    """
    if not level_ids:
        return {}, {}, None
    replaced = set(replaced_variant_ids)
    active, params = hold_active_sql("r", now)
    rows = fetch(
        "SELECT r.stock_level_id, s.variant_id, "  # noqa: S608 - table names only
        "SUM(CASE WHEN r.holder = %s THEN 0 ELSE r.quantity END), "
        "SUM(CASE WHEN r.holder = %s THEN r.quantity ELSE 0 END), "
        "MIN(CASE WHEN r.holder = %s THEN r.expires_at END) "
        f"FROM {table(Reservation)} r JOIN {table(StockLevel)} s ON s.id = r.stock_level_id "
        f"WHERE (r.stock_level_id IN ({placeholders(len(level_ids))}) OR r.holder = %s) "
        f"AND {active} GROUP BY r.stock_level_id, s.variant_id",
        [holder, holder, holder, *level_ids, holder, *params],
    )
    locked = set(level_ids)
    others = {row[0]: int(row[2]) for row in rows if row[0] in locked and row[2]}
    own = {row[0]: int(row[3]) for row in rows if row[0] in locked and row[3]}
    elsewhere = [_datetime(row[4]) for row in rows if row[1] not in replaced and row[4] is not None]
    return others, own, min(elsewhere, default=None)


def _datetime(value: object) -> datetime:
    """A timestamp as the database returned it: PostgreSQL gives a datetime, SQLite text."""
    if isinstance(value, datetime):
        return value
    parsed = parse_datetime(str(value))
    return parsed if timezone.is_aware(parsed) else timezone.make_aware(parsed, UTC)
