"""Where stock comes from: the lines a workflow asks for, placed on the levels that have them.

The steps every stock workflow shares, the documented API of `inventory.services` for its
own modules: `lines_merge` (one line per variant), `placements_plan` (which levels give
which units, or InsufficientStock for every short line), `placements_by_level` (one
placement per level), and `low_stock_record` (the `stock.low` event, on the crossing only).

Concurrency: every workflow locks the StockLevel rows it decides on with one
`SELECT ... FOR UPDATE ORDER BY id` (`inventory.locks`), so concurrent workflows
queue on the same rows in the same order (no deadlocks) and decide on fresh numbers
(no oversell, no lost update). What is free on them is `inventory.available.free_units`,
with the holds read under that lock (`inventory.available.reserved_by_level`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from backoffice.exceptions import ValidationFailed
from backoffice.outbox.services import events_record
from catalog.models import ProductVariant
from inventory.errors import InsufficientStock
from inventory.models import StockLevel

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


def lines_merge(lines: Iterable[StockLine]) -> dict[int, StockLine]:
    """One line per variant, by variant id, quantities added; a quantity below 1 is refused."""
    merged: dict[int, StockLine] = {}
    for line in lines:
        if line.quantity <= 0:
            raise ValidationFailed({"lines": ["Quantities must be at least 1."]})
        previous = merged.get(line.variant.pk)
        quantity = line.quantity + (previous.quantity if previous else 0)
        merged[line.variant.pk] = StockLine(variant=line.variant, quantity=quantity)
    return merged


def placements_plan(
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


def placements_by_level(placements: list[Placement]) -> list[Placement]:
    """The placements added up per stock level: one each, in the order first placed."""
    totals: dict[int, Placement] = {}
    for p in placements:
        if p.stock_level_id in totals:
            q = totals[p.stock_level_id].quantity + p.quantity
            p = Placement(p.variant, p.warehouse_id, p.stock_level_id, q)
        totals[p.stock_level_id] = p
    return list(totals.values())


def low_stock_record(
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
