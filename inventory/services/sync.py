"""Stock changes named by SKU and warehouse code: one at a time, or many in one call (ERP/POS sync).

A change either sets the counted quantity (`on_hand`, a stocktake) or adds a
`delta` (an adjustment). Each one goes through `stock_set_on_hand` or
`stock_adjust`, so the rules, the ledger and the low-stock events are the same
as everywhere else.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from backoffice.exceptions import DomainError, ValidationFailed
from backoffice.scopes import EVERYTHING, Scope
from catalog.models import ProductVariant
from catalog.selectors import variant_list_admin
from inventory.codes import code_in, code_key
from inventory.locks import stock_lock_rank
from inventory.models import StockLevel, StockMovement, Warehouse
from inventory.selectors import warehouse_list
from inventory.services.ledger import stock_adjust, stock_set_on_hand

# The most changes one bulk call may carry.
BULK_MAX_CHANGES = 1000


@dataclass(frozen=True)
class StockChange:
    """Set `on_hand` or add `delta` (exactly one) to a SKU's stock in a warehouse.

    `kind` is the ledger reason of a delta (a count is always a stocktake);
    `note` is the free-text reason a person or system gave.
    """

    sku: str
    warehouse: str
    on_hand: int | None = None
    delta: int | None = None
    kind: str = StockMovement.Reason.ADJUSTMENT
    note: str = ""
    reference: str = ""


@dataclass(frozen=True)
class StockChangeResult:
    """What became of one change: the new `on_hand`, or the error that refused it."""

    change: StockChange
    on_hand: int | None = None
    movement: StockMovement | None = None
    error: DomainError | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def stock_change_apply(
    *, change: StockChange, actor: str = "", scope: Scope = EVERYTHING
) -> StockChangeResult:
    """Apply one change. Raises ValidationFailed (unknown SKU or warehouse, bad numbers)
    or StockConflict (less than held), and then nothing changed.

    Only the variants and warehouses the scope reaches exist for the caller (a
    channel-limited key: its catalog in the warehouses serving it).
    """
    variants, warehouses = _resolve([change], scope)
    return _apply(change, variants, warehouses, actor)


def stock_changes_apply(
    *, changes: Sequence[StockChange], actor: str = "", scope: Scope = EVERYTHING
) -> list[StockChangeResult]:
    """Apply up to BULK_MAX_CHANGES changes, each on its own (a savepoint each).

    One refused change does not undo the others; the results come back in the
    order of `changes`. Stock rows are changed in the order every workflow locks
    them in (`inventory.locks.stock_lock_rank`: existing rows by id, then new ones),
    so a sync running inside one transaction cannot deadlock with checkouts.
    """
    if len(changes) > BULK_MAX_CHANGES:
        raise ValidationFailed({"items": [f"Send at most {BULK_MAX_CHANGES} items per call."]})
    variants, warehouses = _resolve(changes, scope)
    level_ids = {
        (level.variant_id, level.warehouse_id): level.pk
        for level in StockLevel.objects.filter(
            variant_id__in=[v.pk for v in variants.values()],
            warehouse_id__in=[w.pk for w in warehouses.values()],
        ).only("id", "variant_id", "warehouse_id")
    }

    def lock_order(index: int) -> tuple:
        change = changes[index]
        variant, warehouse = variants.get(change.sku), warehouses.get(code_key(change.warehouse))
        if variant is None or warehouse is None:
            return (1, index)
        rank = stock_lock_rank(level_ids.get((variant.pk, warehouse.pk)), variant.pk, warehouse.pk)
        return (0, *rank, index)

    results: dict[int, StockChangeResult] = {}
    for index in sorted(range(len(changes)), key=lock_order):
        try:
            results[index] = _apply(changes[index], variants, warehouses, actor)
        except DomainError as error:
            results[index] = StockChangeResult(change=changes[index], error=error)
    return [results[index] for index in range(len(changes))]


def _resolve(
    changes: Sequence[StockChange], scope: Scope
) -> tuple[dict[str, ProductVariant], dict[str, Warehouse]]:
    """Look every SKU and warehouse code up at once (two queries)."""
    skus = {c.sku for c in changes}
    variants = {v.sku: v for v in variant_list_admin(scope=scope).filter(sku__in=skus)}
    warehouses = {
        code_key(w.code): w
        for w in warehouse_list(scope=scope)
        .prefetch_related(None)
        .filter(code_in(c.warehouse for c in changes))
    }
    return variants, warehouses


def _apply(
    change: StockChange,
    variants: dict[str, ProductVariant],
    warehouses: dict[str, Warehouse],
    actor: str,
) -> StockChangeResult:
    errors: dict[str, list[str]] = {}
    variant, warehouse = variants.get(change.sku), warehouses.get(code_key(change.warehouse))
    if variant is None:
        errors["sku"] = [f"Unknown SKU '{change.sku}'."]
    if warehouse is None:
        errors["warehouse"] = [f"Unknown warehouse '{change.warehouse}'."]
    if (change.on_hand is None) == (change.delta is None):
        errors["on_hand"] = ["Send either on_hand (a count) or delta (an adjustment)."]
    if errors:
        raise ValidationFailed(errors)
    # Each service owns its atomic block, a savepoint inside a caller's transaction,
    # so a refused change rolls back alone.
    if change.on_hand is not None:
        movement = stock_set_on_hand(
            variant=variant,
            warehouse=warehouse,
            on_hand=change.on_hand,
            actor=actor,
            reference=change.reference,
            note=change.note,
        )
        return StockChangeResult(change=change, on_hand=change.on_hand, movement=movement)
    movement = stock_adjust(
        variant=variant,
        warehouse=warehouse,
        delta=change.delta,
        reason=change.kind,
        actor=actor,
        reference=change.reference,
        note=change.note,
    )
    return StockChangeResult(change=change, on_hand=movement.on_hand_after, movement=movement)
