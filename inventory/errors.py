"""Inventory errors, each with a stable code."""

from __future__ import annotations

from backoffice.exceptions import DomainError


class InsufficientStock(DomainError):
    """Not enough units; `lines` holds `{"sku", "requested", "available"}` per short SKU."""

    code = "insufficient_stock"
    status = 409
    title = "Not enough stock."

    def __init__(self, lines: list[dict]) -> None:
        skus = ", ".join(line["sku"] for line in lines)
        super().__init__(f"Not enough stock for {skus}.", lines=lines)
        self.lines = lines


class StockConflict(DomainError):
    """A change to on_hand that would leave less than what orders and carts already hold."""

    code = "stock_conflict"
    status = 409
    title = "The stock change conflicts with held stock."
