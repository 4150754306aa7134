"""Inventory workflows: receive, adjust, count, reserve, allocate, release, ship, allotments
and bulk sync; the package's API, re-exported here for every other app.

- `ledger`: counted stock (receipts, adjustments, stocktakes), each with a ledger line;
- `holds`: reservations for carts and allocations for orders, release, shipping out,
  and the purge of expired holds;
- `allotments`: stock ring-fenced for one holder (a shop link) and moved out of it;
- `sync`: changes named by SKU and warehouse code, one or many (ERP, POS sync);
- `warehouses`: warehouses and the channels they serve;
- `placement`: the steps the stock workflows share (merging lines, placing them on the
  levels that have them, the `stock.low` event), documented for this package's modules.

Every workflow locks the stock rows it decides on in id order (`inventory.locks`); what is
available on them is `inventory.available`.
"""

from inventory.services.allotments import (
    allotment_remaining,
    allotment_reserve,
    allotment_transfer,
)
from inventory.services.holds import (
    allocation_relabel_sql,
    allocations_sweep_orphaned,
    reservations_purge_expired,
    stock_allocate,
    stock_allocate_held,
    stock_allocate_hold,
    stock_allocation_relabel,
    stock_deallocate,
    stock_ensure_available,
    stock_extend,
    stock_held_until,
    stock_release,
    stock_reserve,
    stock_reserve_held_until,
    stock_ship,
)
from inventory.services.ledger import (
    Transfer,
    stock_adjust,
    stock_level_for,
    stock_set_on_hand,
    stock_transfer,
)
from inventory.services.opening import OpeningStock, product_save_with_stock
from inventory.services.placement import MAX_ON_HAND, Placement, StockLine
from inventory.services.sync import (
    BULK_MAX_CHANGES,
    StockChange,
    StockChangeResult,
    stock_change_apply,
    stock_changes_apply,
)
from inventory.services.warehouses import (
    warehouse_create,
    warehouse_set_channels,
    warehouse_update,
)

__all__ = [
    "BULK_MAX_CHANGES",
    "MAX_ON_HAND",
    "OpeningStock",
    "Placement",
    "StockChange",
    "StockChangeResult",
    "StockLine",
    "Transfer",
    "allocation_relabel_sql",
    "allocations_sweep_orphaned",
    "allotment_remaining",
    "allotment_reserve",
    "allotment_transfer",
    "product_save_with_stock",
    "reservations_purge_expired",
    "stock_adjust",
    "stock_allocate",
    "stock_allocate_held",
    "stock_allocate_hold",
    "stock_allocation_relabel",
    "stock_change_apply",
    "stock_changes_apply",
    "stock_deallocate",
    "stock_ensure_available",
    "stock_extend",
    "stock_held_until",
    "stock_level_for",
    "stock_release",
    "stock_reserve",
    "stock_reserve_held_until",
    "stock_set_on_hand",
    "stock_ship",
    "stock_transfer",
    "warehouse_create",
    "warehouse_set_channels",
    "warehouse_update",
]
