"""Orders reads: sellable variants for checkout, carts and orders as each audience sees them."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from django.db.models import Prefetch, Q, QuerySet

from backoffice.exceptions import ValidationFailed
from backoffice.ids import is_id
from backoffice.scopes import EVERYTHING, Scope, scope_filter
from catalog.models import Channel, ProductVariant
from catalog.selectors import variants_for_sale_by_sku
from catalog.sellable import sellable_variants
from inventory.available import channel_available_sql
from orders.models import ORDER_NUMBER_OFFSET, Cart, CartLine, Order, ShippingMethod, Voucher


def variants_for_sale(
    *, channel: Channel, skus: Iterable[str], with_available: bool = False
) -> dict[str, ProductVariant]:
    """The variants of these SKUs that the channel sells, with `channel_price`, in one query;
    `with_available` also gives each `channel_available`, the units it can still sell in the
    channel (`inventory.available`), in the same statement.

    Raises ValidationFailed (field `lines`) naming every SKU that is unknown, not
    published in the channel, or has no price in its currency.
    """
    wanted = list(dict.fromkeys(skus))
    extra = (
        {"channel_available": channel_available_sql(channel=channel, variant_alias="v")}
        if with_available
        else None
    )
    found = variants_for_sale_by_sku(channel=channel, skus=wanted, extra=extra)
    variants = {v.sku: v for v in found}
    missing = [sku for sku in wanted if sku not in variants]
    if missing:
        raise ValidationFailed(
            {"lines": [f"SKU '{sku}' is not sold in this channel." for sku in missing]}
        )
    return variants


def variants_sellable(*, channel: Channel, variant_ids: Iterable[int]) -> dict[int, ProductVariant]:
    """Of these variants, those the channel still sells, with `channel_price` (one query)."""
    return {
        variant.pk: variant
        for variant in sellable_variants(channel)
        .filter(pk__in=list(variant_ids))
        .select_related("product")
    }


def shipping_method_list(*, channel: Channel) -> QuerySet[ShippingMethod]:
    return ShippingMethod.objects.filter(channel=channel, active=True).select_related(
        "pickup_warehouse"
    )


def uuid_parse(value: str) -> uuid.UUID | None:
    """The UUID in `value`, or None when it is not one (an id from a URL)."""
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


def cart_get(*, channel: Channel, cart_id: str, with_lines: bool = True) -> Cart | None:
    """A cart by its id, only through its own channel (without its lines: one query fewer)."""
    pk = uuid_parse(cart_id)
    if pk is None:
        return None
    carts = Cart.objects.filter(pk=pk, channel=channel).select_related(
        "channel", "shipping_method", "voucher"
    )
    if with_lines:
        lines = CartLine.objects.select_related("variant__product").order_by("created_at", "id")
        carts = carts.prefetch_related(Prefetch("lines", queryset=lines))
    return carts.first()


def order_detail_queryset() -> QuerySet[Order]:
    return Order.objects.select_related("channel").prefetch_related("lines", "payments", "events")


def order_get_by_token(*, channel: Channel, token: str) -> Order | None:
    """The customer's view: an order by its unguessable token, in the key's channel."""
    pk = uuid_parse(token)
    if pk is None:
        return None
    return order_detail_queryset().filter(token=pk, channel=channel).first()


def order_list() -> QuerySet[Order]:
    """Orders for staff, newest first, with what the list shows prefetched."""
    return Order.objects.select_related("channel").prefetch_related("lines")


def order_search(queryset: QuerySet[Order], text: str) -> QuerySet[Order]:
    """By order number, email, phone or the shipping name."""
    text = text.strip()
    condition = Q(email__iexact=text) | Q(phone=text) | Q(shipping_address__name__icontains=text)
    if is_id(text.lstrip("#")):
        condition |= Q(pk=int(text.lstrip("#")) - ORDER_NUMBER_OFFSET)
    return queryset.filter(condition)


def _digits(text: str) -> str:
    return "".join(character for character in text if character.isdigit())


def order_number_parse(number: object) -> int | None:
    """An order number as a customer types it ("#100042", " 100042") as an integer, or None."""
    text = str(number).strip().lstrip("#")
    if not (text.isascii() and text.isdigit()) or len(text) > 18:
        return None
    return int(text)


def order_lookup(
    *, channel: Channel, number: str, email: str = "", phone: str = ""
) -> Order | None:
    """An order by its number plus the customer's email and/or phone, in the channel.

    Every contact given must match: email case-insensitively, phone by its digits alone
    (the order's phone or its shipping address's). Any mismatch is None, exactly like
    an unknown number, so the answer never tells whether a number exists. (Guessing is
    limited by the API: `channels_api.throttling.order_lookup_attempt`.)
    """
    parsed = order_number_parse(number)
    if not (email or phone) or parsed is None:
        return None
    order = order_detail_queryset().filter(pk=parsed - ORDER_NUMBER_OFFSET, channel=channel)
    order = order.first()
    if order is None:
        return None
    if email and (not order.email or order.email.casefold() != email.strip().casefold()):
        return None
    if phone:
        wanted = _digits(phone)
        known = {_digits(order.phone), _digits((order.shipping_address or {}).get("phone", ""))}
        if not wanted or wanted not in known - {""}:
            return None
    return order


def voucher_list(*, scope: Scope = EVERYTHING) -> QuerySet[Voucher]:
    """Vouchers by code that the scope reaches (a channel-limited key: those valid there,
    for every channel or for it), with only the channels the scope reaches prefetched."""
    vouchers = scope_filter(Voucher.objects.order_by("code"), scope)
    channels = scope_filter(Channel.objects.all(), scope)
    return vouchers.prefetch_related(Prefetch("channels", queryset=channels))
