"""Shop-link reads: links as each audience sees them, with prices and what is left to sell."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db.models import Prefetch, QuerySet
from django.utils import timezone

from backoffice.scopes import EVERYTHING, Scope, scope_filter
from catalog.models import ProductVariant
from catalog.sellable import price_in_channel, variant_is_sellable, variants_with_sale_facts
from inventory.available import channel_availability
from inventory.services import allotment_remaining
from orders.models import ShopLink, ShopLinkLine

# What `secrets.token_urlsafe` produces; anything else is no link (and never reaches SQL).
CODE = re.compile(r"[A-Za-z0-9_-]{1,64}")


def link_list(*, scope: Scope = EVERYTHING) -> QuerySet[ShopLink]:
    """Links newest first, with channel, voucher and lines (variants and products) prefetched;
    only those the scope reaches (a channel's own links, for its keys)."""
    lines = ShopLinkLine.objects.select_related("variant__product").order_by("id")
    links = ShopLink.objects.select_related("channel", "voucher").prefetch_related(
        Prefetch("lines", queryset=lines)
    )
    return scope_filter(links, scope).order_by("-created_at", "-id")


def link_get(*, code: str, scope: Scope = EVERYTHING) -> ShopLink | None:
    """One link by code, if the scope reaches it."""
    if not CODE.fullmatch(code or ""):
        return None
    return link_list(scope=scope).filter(code=code).first()


@dataclass(frozen=True)
class LinkLineView:
    line: ShopLinkLine
    variant: ProductVariant
    price: Decimal | None
    available: int


@dataclass(frozen=True)
class LinkView:
    link: ShopLink
    lines: list[LinkLineView]
    fenced: bool
    sold_out: bool
    status: str


def link_status(link: ShopLink, *, now: datetime, sold_out: bool) -> str:
    """`inactive`, `expired`, `used_up`, `sold_out` or `active`."""
    if not link.active:
        return "inactive"
    if link.expires_at is not None and link.expires_at <= now:
        return "expired"
    if link.usage_limit is not None and link.orders_count >= link.usage_limit:
        return "used_up"
    return "sold_out" if sold_out else "active"


def link_view(*, link: ShopLink) -> LinkView:
    """The link's lines at the channel's price with what is left to sell.

    A line the channel no longer sells (`catalog.sellable`: unpublished, unpriced) shows no
    price and nothing available, as checkout would refuse it. While the allotment lasts,
    `available` is what is left of it (other stock does not count: the link is sold out when
    its allotment is); otherwise the channel's availability.
    """
    now = timezone.now()
    channel = link.channel
    line_rows = list(link.lines.all())
    variant_ids = [line.variant_id for line in line_rows]
    facts = {v.pk: v for v in variants_with_sale_facts(channel).filter(pk__in=variant_ids)}
    sellable = {
        pk: variant
        for pk, variant in facts.items()
        if variant_is_sellable(
            channel=channel,
            listing_published=variant.listing_published,
            channel_price=variant.channel_price,
        )
    }
    fenced = link.allotment_until is not None and link.allotment_until > now
    if fenced:
        available = allotment_remaining(holder=link.holder)
    else:
        available = channel_availability(channel=channel, variant_ids=variant_ids)
    lines = []
    for line in line_rows:
        variant = sellable.get(line.variant_id)
        lines.append(
            LinkLineView(
                line=line,
                variant=line.variant,
                price=price_in_channel(variant=variant, channel=channel) if variant else None,
                available=0 if variant is None else available.get(line.variant_id, 0),
            )
        )
    sold_out = any(view.available < view.line.quantity for view in lines)
    return LinkView(
        link=link,
        lines=lines,
        fenced=fenced,
        sold_out=sold_out,
        status=link_status(link, now=now, sold_out=sold_out),
    )
