"""Shop-link workflows: create (ring-fencing an allotment), make carts from a link, deactivate.

A link's cart takes its units from the link's allotment while it lasts: they move from
holder `link:<code>` to `cart:<id>` under the stock-row lock (`inventory.services.allotments`),
so they are never free in between. A link cart whose hold lapses without an order
gives its units to general stock, not back to the allotment: the expired hold simply
stops counting, like any cart's. (Returning them would need a sweeper racing other
channels for the same units; the allotment is a head start for the post, not a promise
to each tap.) After `allotment_until` a link sells from general stock like any other.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from backoffice.exceptions import ValidationFailed
from catalog.models import Channel
from inventory.services import (
    StockLine,
    allotment_reserve,
    allotment_transfer,
    stock_held_until,
    stock_release,
)
from orders.errors import LinkExpired, LinkInactive, LinkUsedUp
from orders.links.counters import link_cart_record
from orders.locks import link_lock
from orders.models import Cart, CartLine, ShopLink, ShopLinkLine, Voucher
from orders.pricing import lines_totals_check, price_lines
from orders.selectors import variants_for_sale
from orders.services.carts import cart_create, cart_update
from orders.services.validation import LineRequest, lines_clean

# Stock is not ring-fenced for longer than this.
MAX_ALLOTMENT = timedelta(days=366)
CAMPAIGN_KEYS = ("name", "post", "source", "medium", "content", "term")


@dataclass(frozen=True)
class LinkLineInput:
    sku: str
    quantity: int = 1
    allotment: int = 0


def _campaign_clean(campaign: dict[str, Any] | None) -> dict[str, str]:
    if campaign is None:
        return {}
    if not isinstance(campaign, dict):
        raise ValidationFailed({"campaign": ["Send an object."]})
    errors: dict[str, list[str]] = {}
    for key, value in campaign.items():
        if key not in CAMPAIGN_KEYS:
            errors[f"campaign.{key}"] = [f"Use {', '.join(CAMPAIGN_KEYS)}."]
        elif not isinstance(value, str) or len(value) > 500:
            errors[f"campaign.{key}"] = ["Text of at most 500 characters."]
    if errors:
        raise ValidationFailed(errors)
    return dict(campaign)


def link_create(
    *,
    channel: Channel,
    lines: list[LinkLineInput],
    campaign: dict[str, Any] | None = None,
    name: str = "",
    expires_at: datetime | None = None,
    allotment_until: datetime | None = None,
    usage_limit: int | None = None,
    voucher_code: str | None = None,
    actor: str = "",
) -> ShopLink:
    """Create a link; lines with an `allotment` ring-fence those units until `allotment_until`
    (default: the link's expiry).

    Raises ValidationFailed (unknown SKU, times in the past, allotment without an end or
    below the per-cart quantity, a cart too large to order) and InsufficientStock (the
    allotment is not available): then nothing is created.
    """
    if len({line.sku for line in lines}) != len(lines):
        raise ValidationFailed({"lines": ["Name each SKU once."]})
    requests = lines_clean([LineRequest(sku=line.sku, quantity=line.quantity) for line in lines])
    variants = variants_for_sale(channel=channel, skus=[line.sku for line in lines])
    lines_totals_check(
        channel=channel, lines=price_lines(channel=channel, variants=variants, lines=requests)
    )
    now = timezone.now()
    errors: dict[str, list[str]] = {}
    if expires_at is not None and expires_at <= now:
        errors["expires_at"] = ["Must be in the future."]
    fenced = [line for line in lines if line.allotment]
    if fenced and allotment_until is None:
        allotment_until = expires_at
    if fenced and allotment_until is None:
        errors["allotment_until"] = ["An allotment needs an end (or the link an expiry)."]
    elif allotment_until is not None and not fenced:
        errors["allotment_until"] = ["No line has an allotment."]
    elif allotment_until is not None and allotment_until <= now:
        errors["allotment_until"] = ["Must be in the future."]
    elif allotment_until is not None and allotment_until > now + MAX_ALLOTMENT:
        errors["allotment_until"] = [f"At most {MAX_ALLOTMENT.days} days ahead."]
    for index, line in enumerate(lines):
        if line.allotment < 0 or (line.allotment and line.allotment < line.quantity):
            errors[f"lines.{index}.allotment"] = ["At least the quantity of one cart, or 0."]
    voucher = None
    if voucher_code:
        voucher = Voucher.objects.filter(code__iexact=voucher_code.strip(), active=True).first()
        if voucher is None:
            errors["voucher_code"] = ["This voucher code is not valid."]
    if usage_limit is not None and usage_limit < 1:
        errors["usage_limit"] = ["At least 1."]
    if errors:
        raise ValidationFailed(errors)
    with transaction.atomic():
        link = ShopLink.objects.create(
            channel=channel,
            name=name,
            campaign=_campaign_clean(campaign),
            expires_at=expires_at,
            allotment_until=allotment_until,
            usage_limit=usage_limit,
            voucher=voucher,
            created_by=actor,
        )
        ShopLinkLine.objects.bulk_create(
            ShopLinkLine(
                link=link,
                variant=variants[line.sku],
                quantity=line.quantity,
                allotment=line.allotment,
            )
            for line in lines
        )
        link_allotment_apply(link=link)
    return link


def link_allotment_apply(*, link: ShopLink) -> None:
    """Ring-fence the lines' allotment units for the link (after creating it, e.g. in the admin).

    Raises InsufficientStock when they are not available.
    """
    if link.allotment_until is None:
        return
    lines = [
        StockLine(variant=line.variant, quantity=line.allotment)
        for line in link.lines.select_related("variant")
        if line.allotment
    ]
    if lines:
        allotment_reserve(
            channel=link.channel, holder=link.holder, lines=lines, until=link.allotment_until
        )


def link_check_usable(*, link: ShopLink, now: datetime | None = None) -> None:
    """Raise LinkInactive, LinkExpired or LinkUsedUp (410) when the link cannot sell."""
    now = now or timezone.now()
    if not link.active:
        raise LinkInactive()
    if link.expires_at is not None and link.expires_at <= now:
        raise LinkExpired()
    if link.usage_limit is not None and link.orders_count >= link.usage_limit:
        raise LinkUsedUp()


def link_is_fenced(link: ShopLink, now: datetime | None = None) -> bool:
    """Whether the link sells from its own allotment now (rather than from general stock)."""
    now = now or timezone.now()
    return link.allotment_until is not None and link.allotment_until > now


def link_cart_create(*, link: ShopLink) -> Cart:
    """A reserved cart with the link's lines, attributed to it (`{"link", "campaign"}`).

    While the allotment lasts the units move out of it (InsufficientStock when it is used
    up, whatever other stock exists); otherwise they are reserved from general stock.
    The link's voucher is applied when it still applies. Raises LinkInactive,
    LinkExpired, LinkUsedUp, ValidationFailed, InsufficientStock.
    """
    link_check_usable(link=link)
    link_lines = list(link.lines.select_related("variant"))
    # The limits as they are now (they may have been lowered since the link was made).
    requests = lines_clean(
        [LineRequest(sku=line.variant.sku, quantity=line.quantity) for line in link_lines]
    )
    attribution = {"link": link.code, "campaign": link.campaign}
    channel = link.channel
    with transaction.atomic():
        # The link's row before the stock rows, as an order placed through it counts it
        # (docs/architecture.md, "Lock order").
        link_cart_record(link=link)
        if link_is_fenced(link):
            cart = _fenced_cart_create(link=link, requests=requests, attribution=attribution)
        else:
            cart = cart_create(channel=channel, lines=requests, attribution=attribution)
        if link.voucher_id:
            try:
                with transaction.atomic():
                    cart = cart_update(cart=cart, voucher_code=link.voucher.code)
            except ValidationFailed:
                pass  # the voucher stopped applying; the cart still sells at the normal price
    return cart


def _fenced_cart_create(
    *, link: ShopLink, requests: list[LineRequest], attribution: dict[str, Any]
) -> Cart:
    channel = link.channel
    variants = variants_for_sale(channel=channel, skus=[line.sku for line in requests])
    cart = Cart(id=uuid.uuid4(), channel=channel, attribution=attribution)
    allotment_transfer(
        source=link.holder,
        target=cart.holder,
        lines=[StockLine(variant=variants[line.sku], quantity=line.quantity) for line in requests],
        expires_at=timezone.now() + timedelta(seconds=channel.reservation_ttl_seconds),
    )
    cart.reserved_until = stock_held_until(holder=cart.holder)
    cart.save(force_insert=True)
    CartLine.objects.bulk_create(
        CartLine(cart=cart, variant=variants[line.sku], quantity=line.quantity) for line in requests
    )
    return cart


def link_deactivate(*, link: ShopLink, actor: str = "") -> ShopLink:
    """Stop the link selling; its ring-fenced units go back to general stock at once."""
    with transaction.atomic():
        link = link_lock(link)
        if link.active:
            link.active = False
            link.deactivated_at = timezone.now()
            link.save(update_fields=["active", "deactivated_at"])
        stock_release(holder=link.holder)
    return link
