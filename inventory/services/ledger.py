"""Counted stock: receipts, adjustments, stocktakes and transfers, each with its ledger lines."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from django.db import transaction

from backoffice.exceptions import ValidationFailed
from catalog.models import ProductVariant
from inventory.available import reserved_by_level
from inventory.errors import StockConflict
from inventory.locks import stock_level_lock_or_create, stock_levels_lock_pairs
from inventory.models import (
    StockLevel,
    StockMovement,
    Warehouse,
)
from inventory.services.placement import MAX_ON_HAND, StockLine, low_stock_record


def stock_level_for(*, variant: ProductVariant, warehouse: Warehouse) -> StockLevel:
    """The stock row of a variant in a warehouse, created empty when missing."""
    level, _ = StockLevel.objects.get_or_create(variant=variant, warehouse=warehouse)
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
        level = stock_level_lock_or_create(variant, warehouse)
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
        level = stock_level_lock_or_create(variant, warehouse)
        if on_hand == level.on_hand:
            return None
        delta = on_hand - level.on_hand
        return _change_on_hand(level, variant, warehouse, delta, reason, actor, reference, note)


@dataclass(frozen=True)
class Transfer:
    """Units moved between warehouses: the ledger line on each side, one reference."""

    reference: str
    out: StockMovement
    into: StockMovement


def stock_transfer(
    *,
    variant: ProductVariant,
    source: Warehouse,
    destination: Warehouse,
    quantity: int,
    actor: str = "",
    note: str = "",
) -> Transfer:
    """Move counted units from one warehouse to another, recorded on both sides of the ledger:
    a `transfer` line out of `source` and one into `destination`, sharing a `transfer:...`
    reference, in one transaction.

    Only units nobody holds can leave: refuses (StockConflict) what orders and carts hold
    in the source; (ValidationFailed) one warehouse twice, fewer than one unit, or a count
    over MAX_ON_HAND. Both stock rows are locked together (`stock_levels_lock_pairs`).
    """
    errors: dict[str, list[str]] = {}
    if source.pk == destination.pk:
        errors["destination"] = ["Choose a warehouse other than the one the stock leaves."]
    if not 1 <= quantity <= MAX_ON_HAND:
        errors["quantity"] = [f"Move 1 to {MAX_ON_HAND} units."]
    if errors:
        raise ValidationFailed(errors)
    reference = f"transfer:{secrets.token_hex(6)}"
    with transaction.atomic():
        locked = stock_levels_lock_pairs([(variant, source), (variant, destination)])
        levels = {warehouse_id: level for (_, warehouse_id), level in locked.items()}
        leaving = levels[source.pk]
        held = leaving.allocated + reserved_by_level([leaving.pk])[0].get(leaving.pk, 0)
        if quantity > leaving.on_hand - held:
            raise StockConflict(
                f"{variant.sku} in {source.code}: {max(leaving.on_hand - held, 0)} unit(s) can "
                f"move ({leaving.on_hand} on hand, {held} held by orders and carts).",
                sku=variant.sku,
                warehouse=source.code,
                on_hand=leaving.on_hand,
                held=held,
            )
        out = _change_on_hand(
            leaving, variant, source, -quantity, _TRANSFER, actor, reference, note
        )
        into = _change_on_hand(
            levels[destination.pk],
            variant,
            destination,
            quantity,
            _TRANSFER,
            actor,
            reference,
            note,
        )
    return Transfer(reference=reference, out=out, into=into)


_TRANSFER = StockMovement.Reason.TRANSFER


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
    held = level.allocated + reserved_by_level([level.pk])[0].get(level.pk, 0)
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
    low_stock_record(
        {(variant.pk, warehouse.pk): level},
        {variant.pk: StockLine(variant=variant, quantity=0)},
        before={level.pk: available - delta},
        after={level.pk: available},
    )
    return movement
