"""Shop-link counters (clicks, carts, orders), each one atomic `F()` update.

Each update holds the link's row until its transaction commits, so it is a lock
step: after the voucher, before any stock row (docs/architecture.md, "Lock order").

Kept apart from `orders.links.services` so that checkout can count an order without importing
the cart workflows (which import checkout).
"""

from __future__ import annotations

from typing import Any

from django.db.models import F, Q

from catalog.models import Channel
from orders.errors import LinkUsedUp
from orders.models import ShopLink, ShopLinkClick


def link_order_record(*, attribution: dict[str, Any] | None, channel: Channel) -> None:
    """Count an order placed through a link (`attribution["link"]`), within its usage limit.

    Called inside the order's transaction. The conditional update cannot pass the limit
    under concurrency; an order beyond it raises LinkUsedUp and is not placed.
    """
    code = attribution.get("link") if isinstance(attribution, dict) else None
    if not code:
        return
    links = ShopLink.objects.filter(code=code, channel=channel)
    counted = links.filter(
        Q(usage_limit__isnull=True) | Q(orders_count__lt=F("usage_limit"))
    ).update(orders_count=F("orders_count") + 1)
    if not counted and links.exists():
        raise LinkUsedUp()


def link_click_record(*, link: ShopLink) -> None:
    """Count a tap on the link's public URL (the total, and a dated row for reports)."""
    ShopLink.objects.filter(pk=link.pk).update(clicks=F("clicks") + 1)
    ShopLinkClick.objects.create(link=link)


def link_cart_record(*, link: ShopLink) -> None:
    """Count a cart the link made."""
    ShopLink.objects.filter(pk=link.pk).update(carts_count=F("carts_count") + 1)
