"""Reports: proxies of orders that admin report pages are registered on (no tables of their own)."""

from __future__ import annotations

from orders.models.orders import Order


class SalesReport(Order):
    """Orders seen as the "Sales by channel" page of the Django admin (no table of its own)."""

    class Meta:
        proxy = True
        verbose_name = "sales by channel"
        verbose_name_plural = "sales by channel"
