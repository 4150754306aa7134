"""Where stock comes from: count what is free under the row locks, place each line.

Concurrency: every workflow locks the StockLevel rows it decides on with one
`SELECT ... FOR UPDATE ORDER BY id` (`inventory.locks`), so concurrent workflows
queue on the same rows in the same order (no deadlocks) and decide on fresh numbers
(no oversell, no lost update). Reservations are summed under that lock.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.utils import timezone

from backoffice.exceptions import ValidationFailed
from backoffice.outbox.services import events_record
from backoffice.sql import fetch, placeholders, table
from catalog.models import ProductVariant
from inventory.errors import InsufficientStock
from inventory.models import Reservation, StockLevel

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


def _reserved_split(
    level_ids: list[int], holder: str | None = None
) -> tuple[dict[int, int], dict[int, int]]:
    """Active reservations per level: others' and `holder`'s own, from one query.

    Read after the rows are locked (a new snapshot), so holds committed by whoever
    held the lock before are counted.
    """
    if not level_ids:
        return {}, {}
    rows = fetch(
        "SELECT stock_level_id, "  # noqa: S608 - table name only
        "SUM(CASE WHEN holder = %s THEN 0 ELSE quantity END), "
        "SUM(CASE WHEN holder = %s THEN quantity ELSE 0 END) "
        f"FROM {table(Reservation)} "
        f"WHERE stock_level_id IN ({placeholders(len(level_ids))}) AND expires_at > %s "
        "GROUP BY stock_level_id",
        [holder, holder, *level_ids, timezone.now()],
    )
    others = {level_id: int(total) for level_id, total, _ in rows if total}
    own = {level_id: int(total) for level_id, _, total in rows if total}
    return others, own


def _reserved_by_level(level_ids: list[int]) -> dict[int, int]:
    """Active reserved units per level (everyone's)."""
    return _reserved_split(level_ids)[0]


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


def _sum_by_level(placements: list[Placement]) -> list[Placement]:
    totals: dict[int, Placement] = {}
    for p in placements:
        if p.stock_level_id in totals:
            q = totals[p.stock_level_id].quantity + p.quantity
            p = Placement(p.variant, p.warehouse_id, p.stock_level_id, q)
        totals[p.stock_level_id] = p
    return list(totals.values())


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
