"""Point-of-sale reads: recorded and flagged till sales for staff."""

from __future__ import annotations

from django.db.models import QuerySet

from catalog.models import Channel
from pos.models import PosSale


def pos_sale_list(
    *, channel: Channel | None = None, status: str | None = None
) -> QuerySet[PosSale]:
    """Till sales newest first, with channel, store and order; optionally one channel or status."""
    sales = PosSale.objects.select_related("channel", "store", "order").order_by("-id")
    if channel is not None:
        sales = sales.filter(channel=channel)
    if status:
        sales = sales.filter(status=status)
    return sales
