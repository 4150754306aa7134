"""Point-of-sale reads: recorded and flagged till sales for staff."""

from __future__ import annotations

from django.db.models import QuerySet

from backoffice.scopes import EVERYTHING, Scope, scope_filter
from pos.models import PosSale


def pos_sale_list(*, scope: Scope = EVERYTHING, status: str | None = None) -> QuerySet[PosSale]:
    """Till sales newest first, with channel, store and order: those the scope reaches,
    optionally of one status."""
    sales = scope_filter(
        PosSale.objects.select_related("channel", "store", "order").order_by("-id"), scope
    )
    if status:
        sales = sales.filter(status=status)
    return sales
