"""Inventory workflows: receive, adjust, count, reserve, allocate, release and ship.

Every workflow locks the stock rows it decides on in id order (`inventory.locks`).
"""

from inventory.services.holds import (
    reservations_purge_expired,
    stock_allocate,
    stock_deallocate,
    stock_ensure_available,
    stock_extend,
    stock_release,
    stock_reserve,
    stock_ship,
)
from inventory.services.ledger import stock_adjust, stock_level_for, stock_set_on_hand
from inventory.services.placement import MAX_ON_HAND, Placement, StockLine
from inventory.services.warehouses import (
    warehouse_create,
    warehouse_set_channels,
    warehouse_update,
)

__all__ = [
    "MAX_ON_HAND",
    "Placement",
    "StockLine",
    "reservations_purge_expired",
    "stock_adjust",
    "stock_allocate",
    "stock_deallocate",
    "stock_ensure_available",
    "stock_extend",
    "stock_level_for",
    "stock_release",
    "stock_reserve",
    "stock_set_on_hand",
    "stock_ship",
    "warehouse_create",
    "warehouse_set_channels",
    "warehouse_update",
]
