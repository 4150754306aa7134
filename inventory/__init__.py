"""Inventory: warehouses, stock levels, reservations, allocations and the stock ledger."""
