"""Catalog reads: what a channel shows, at the channel's price (the rule: `catalog.sellable`)."""

from __future__ import annotations

from functools import reduce
from operator import and_

from django.db.models import Prefetch, Q, QuerySet

from backoffice.scopes import EVERYTHING, Scope, scope_filter
from backoffice.sql import models_read, placeholders, table
from catalog.models import Category, Channel, ChannelPrice, Product, ProductListing, ProductVariant
from catalog.sellable import published_listings, sellable_sql, sellable_variants


def channel_list() -> QuerySet[Channel]:
    """All channels, by code."""
    return Channel.objects.order_by("code")


def channel_get_by_code(*, code: str) -> Channel | None:
    return Channel.objects.filter(code=code).first()


def variants_for_sale_by_sku(
    *, channel: Channel, skus: list[str], extra: dict[str, tuple[str, list]] | None = None
) -> list[ProductVariant]:
    """The variants of these SKUs the channel sells (`catalog.sellable`), with `channel_price`.

    Each has its product's id and name loaded (its other fields load on use), from one
    written-out query (the rule's SQL form): every checkout and cart line asks this.
    `extra` adds columns by attribute name, each an SQL expression over alias `v` with its
    parameters (checkout asks the units available in the same statement).
    """
    if not skus:
        return []
    joins, sellable, params = sellable_sql(channel, "v")
    extra = extra or {}
    columns = "".join(f", {sql} AS {name}" for name, (sql, _) in extra.items())
    extra_params = [value for _, values in extra.values() for value in values]
    variants = models_read(
        ProductVariant,
        "v",
        "SELECT {columns}, cp.price, p.name" + columns + " "
        f"FROM {table(ProductVariant)} v "
        f"JOIN {table(Product)} p ON p.id = v.product_id {joins} "
        f"WHERE v.sku IN ({placeholders(len(skus))}) AND {sellable}",
        [*extra_params, *params, *skus],
        extra=["channel_price", "product_name", *extra],
    )
    price = ChannelPrice._meta.get_field("price")
    for variant in variants:
        # Raw rows skip the field's converters: the override comes back as the database gave it.
        if variant.channel_price is not None:
            variant.channel_price = price.to_python(variant.channel_price)
        variant.product = Product.from_db(
            variant._state.db, ["id", "name"], [variant.product_id, variant.product_name]
        )
    return variants


def channel_product_list(*, channel: Channel) -> QuerySet[Product]:
    """Products published in the channel, with the variants it sells carrying `channel_price`.

    Costs three queries whatever the page size (products, variants, categories are joined).
    """
    return (
        Product.objects.filter(pk__in=published_listings(channel).values("product_id"))
        .select_related("category")
        .prefetch_related(Prefetch("variants", queryset=sellable_variants(channel)))
        .order_by("id")
    )


def channel_product_get(*, channel: Channel, slug: str) -> Product | None:
    """One product by slug if it is published in the channel, else None."""
    return channel_product_list(channel=channel).filter(slug=slug).first()


def product_search(queryset: QuerySet[Product], text: str) -> QuerySet[Product]:
    """Free-text search: every word must appear in the name, description, category or a SKU."""
    words = [word for word in text.split() if word][:10]
    if not words:
        return queryset
    conditions = [
        Q(name__icontains=word)
        | Q(description__icontains=word)
        | Q(category__name__icontains=word)
        | Q(variants__sku__iexact=word)
        for word in words
    ]
    matching = Product.objects.filter(reduce(and_, conditions)).values("pk")
    return queryset.filter(pk__in=matching)


def product_filter_category(queryset: QuerySet[Product], slug: str) -> QuerySet[Product]:
    """Products in the category or any category below it."""
    category = Category.objects.filter(slug=slug).first()
    if category is None:
        return queryset.none()
    slugs = category_descendant_ids(category=category)
    return queryset.filter(category_id__in=slugs)


def category_descendant_ids(*, category: Category) -> list[int]:
    """The category and everything below it (categories are few; walk them in memory)."""
    children: dict[int | None, list[int]] = {}
    for pk, parent_id in Category.objects.values_list("pk", "parent_id"):
        children.setdefault(parent_id, []).append(pk)
    found, queue = [], [category.pk]
    while queue:
        current = queue.pop()
        found.append(current)
        queue.extend(children.get(current, []))
    return found


def variant_list_admin(*, scope: Scope = EVERYTHING) -> QuerySet[ProductVariant]:
    """Every variant the scope reaches (a channel-limited key: those of its catalog, the
    products the channel lists, published or not)."""
    return scope_filter(ProductVariant.objects.all(), scope)


def product_list_admin(*, scope: Scope = EVERYTHING) -> QuerySet[Product]:
    """Every product the scope reaches, with variants, listings and channel prices, for staff.

    A channel-limited key reaches its channel's catalog: the products the channel lists,
    published or not (`backoffice.scopes`).
    """
    products = scope_filter(Product.objects.all(), scope)
    return (
        products.select_related("category")
        .prefetch_related(
            "variants",
            Prefetch("listings", queryset=ProductListing.objects.select_related("channel")),
            Prefetch(
                "variants__channel_prices", queryset=ChannelPrice.objects.select_related("channel")
            ),
        )
        .order_by("id")
    )
