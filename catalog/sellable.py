"""The rule "sellable in this channel": who may buy which variant, and at what price.

A variant is sellable in a channel when the channel is active, the variant's product is
listed and published there, and the variant has a price in the channel's currency: the
channel's own price (`ChannelPrice`), else its base price when the channel sells in the
default currency (base prices are in `DEFAULT_CURRENCY`). The price is that one.

The rule is asked in three forms, kept here side by side, and
`tests/catalog/test_sellable_parity.py` proves they agree on random data:

- ORM: `sellable_variants` (the store's product pages, carts, shop links), built on
  `variants_with_sale_facts`, which annotates the facts (`listing_published`,
  `channel_price`) without deciding;
- SQL: `sellable_sql`, the joins and condition written out for the checkout's hot path
  (`catalog.selectors.variants_for_sale_by_sku`);
- Python: `variant_is_sellable` on those facts, and `price_in_channel` for the price.

The channel's `active` and `currency` are read from the Channel given, in every form.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db.models import Exists, OuterRef, Q, QuerySet, Subquery

from backoffice.sql import table
from catalog.models import Channel, ChannelPrice, ProductListing, ProductVariant


def _priced_in_base(channel: Channel) -> bool:
    return channel.currency == settings.DEFAULT_CURRENCY


# --- Python -------------------------------------------------------------------------------
def variant_is_sellable(
    *, channel: Channel, listing_published: bool, channel_price: Decimal | None
) -> bool:
    """Python: whether a variant with these facts sells in the channel."""
    priced = channel_price is not None or _priced_in_base(channel)
    return bool(channel.active and listing_published and priced)


def price_in_channel(*, variant: ProductVariant, channel: Channel) -> Decimal | None:
    """The price a channel charges: its own, else the base price in the default currency.

    None means no price in this channel's currency (not sold there). `variant` may carry a
    `channel_price` annotation (every form here sets one) to save a query.
    """
    if hasattr(variant, "channel_price"):
        override = variant.channel_price
    else:
        override = (
            ChannelPrice.objects.filter(variant=variant, channel=channel)
            .values_list("price", flat=True)
            .first()
        )
    if override is not None:
        return override
    return variant.price if _priced_in_base(channel) else None


# --- ORM ----------------------------------------------------------------------------------
def published_listings(channel: Channel) -> QuerySet[ProductListing]:
    """The channel's published listings: the products it shows."""
    return ProductListing.objects.filter(channel=channel, published=True)


def variants_with_sale_facts(channel: Channel) -> QuerySet[ProductVariant]:
    """Every variant, annotated with what the rule decides on: `listing_published` (listed
    and published in the channel) and `channel_price` (the channel's own price, or None)."""
    own_price = ChannelPrice.objects.filter(variant=OuterRef("pk"), channel=channel)
    listed = published_listings(channel).filter(product=OuterRef("product"))
    return ProductVariant.objects.annotate(
        listing_published=Exists(listed),
        channel_price=Subquery(own_price.values("price")[:1]),
    )


def sellable_q(channel: Channel) -> Q:
    """ORM: the rule as a condition on `variants_with_sale_facts`."""
    if not channel.active:
        return Q(pk__in=[])
    condition = Q(listing_published=True)
    if not _priced_in_base(channel):
        condition &= Q(channel_price__isnull=False)
    return condition


def sellable_variants(channel: Channel) -> QuerySet[ProductVariant]:
    """ORM: the variants the channel sells, each with `channel_price`, by position."""
    return variants_with_sale_facts(channel).filter(sellable_q(channel)).order_by("position", "id")


# --- SQL ----------------------------------------------------------------------------------
def sellable_sql(channel: Channel, variant: str = "v") -> tuple[str, str, list]:
    """SQL: the joins (after `FROM <variants> {variant}`), the condition, and their parameters.

    Selects nothing itself: the channel's own price is `cp.price` (NULL without one).
    """
    joins = (
        f"JOIN {table(ProductListing)} l ON l.product_id = {variant}.product_id "
        "AND l.channel_id = %s AND l.published = %s "
        f"LEFT JOIN {table(ChannelPrice)} cp ON cp.variant_id = {variant}.id AND cp.channel_id = %s"
    )
    if not channel.active:
        condition = "1 = 0"
    elif _priced_in_base(channel):
        condition = "1 = 1"
    else:
        condition = "cp.price IS NOT NULL"
    return joins, condition, [channel.pk, True, channel.pk]
