"""The forms of "sellable in this channel" agree on random data (real PostgreSQL).

`catalog.sellable` holds the rule in three forms: the ORM queryset, the SQL fragment of
the checkout's hot path, and the Python predicate on a variant's facts. Each example
lists products in channels of either currency (published, unpublished or not at all),
gives some variants a channel price, switches channels off, asks every form and the
readers built on them, and rolls everything back.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backoffice.sql import fetch, table
from catalog.models import Channel, ChannelPrice, Product, ProductListing, ProductVariant
from catalog.selectors import channel_product_list, variants_for_sale_by_sku
from catalog.sellable import (
    price_in_channel,
    sellable_sql,
    sellable_variants,
    variant_is_sellable,
    variants_with_sale_facts,
)

pytestmark = pytest.mark.django_db

PRODUCTS, VARIANTS_EACH = 3, 2
CHANNELS = [("usd", "USD"), ("eur", "EUR")]
listing = st.sampled_from([None, True, False])  # not listed, published, unpublished
price = st.one_of(st.none(), st.decimals("0", "99.99", places=2))
world = st.fixed_dictionaries(
    {
        "active": st.lists(st.booleans(), min_size=len(CHANNELS), max_size=len(CHANNELS)),
        "listings": st.lists(
            listing, min_size=PRODUCTS * len(CHANNELS), max_size=PRODUCTS * len(CHANNELS)
        ),
        "prices": st.lists(
            price,
            min_size=PRODUCTS * VARIANTS_EACH * len(CHANNELS),
            max_size=PRODUCTS * VARIANTS_EACH * len(CHANNELS),
        ),
    }
)


class Rollback(Exception):
    """Undoes each example."""


@pytest.fixture
def catalog(db):
    channels = [
        Channel.objects.create(code=code, name=code, currency=cur) for code, cur in CHANNELS
    ]
    variants = []
    for number in range(PRODUCTS):
        product = Product.objects.create(slug=f"p{number}", name=f"P{number}")
        variants += [
            ProductVariant.objects.create(
                product=product, sku=f"P{number}-{index}", price=Decimal("10.00") + index
            )
            for index in range(VARIANTS_EACH)
        ]
    return channels, variants


def _build(catalog, data):
    channels, variants = catalog
    products = sorted({variant.product_id for variant in variants})
    published: dict[tuple[int, int], bool] = {}
    prices: dict[tuple[int, int], Decimal] = {}
    for index, (channel, active) in enumerate(zip(channels, data["active"], strict=True)):
        Channel.objects.filter(pk=channel.pk).update(active=active)
        for number, product_id in enumerate(products):
            listed = data["listings"][index * PRODUCTS + number]
            if listed is not None:
                ProductListing.objects.create(
                    product_id=product_id, channel=channel, published=listed
                )
                published[(product_id, channel.pk)] = listed
        for number, variant in enumerate(variants):
            amount = data["prices"][index * len(variants) + number]
            if amount is not None:
                ChannelPrice.objects.create(variant=variant, channel=channel, price=amount)
                prices[(variant.pk, channel.pk)] = amount
    return [Channel.objects.get(pk=channel.pk) for channel in channels], published, prices


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=world)
def test_the_forms_of_sellable_agree_and_every_reader_follows_them(catalog, data):
    _, variants = catalog
    try:
        with transaction.atomic():
            channels, published, prices = _build(catalog, data)
            for channel in channels:
                # Python, on facts read plainly from the rows
                python = {
                    variant.pk
                    for variant in variants
                    if variant_is_sellable(
                        channel=channel,
                        listing_published=published.get((variant.product_id, channel.pk), False),
                        channel_price=prices.get((variant.pk, channel.pk)),
                    )
                }
                expected_price = {
                    variant.pk: prices.get((variant.pk, channel.pk), variant.price)
                    if (variant.pk, channel.pk) in prices or channel.currency == "USD"
                    else None
                    for variant in variants
                }
                # ORM
                orm = set(sellable_variants(channel).values_list("pk", flat=True))
                # SQL
                joins, condition, params = sellable_sql(channel, "v")
                query = f"SELECT v.id FROM {table(ProductVariant)} v {joins} WHERE {condition}"  # noqa: S608
                sql = {row[0] for row in fetch(query, params)}

                assert python == orm == sql, channel.code
                # The facts the ORM annotates are the ones read plainly
                for variant in variants_with_sale_facts(channel):
                    key = (variant.product_id, channel.pk)
                    assert variant.listing_published == published.get(key, False)
                    assert variant.channel_price == prices.get((variant.pk, channel.pk))
                # The checkout's hot-path reader, and the price every form charges
                for_sale = variants_for_sale_by_sku(
                    channel=channel, skus=[variant.sku for variant in variants]
                )
                assert {variant.pk for variant in for_sale} == python
                for variant in [*for_sale, *sellable_variants(channel)]:
                    assert (
                        price_in_channel(variant=variant, channel=channel)
                        == (expected_price[variant.pk])
                    )
                # The store's product list: published products, with only sellable variants
                shown = channel_product_list(channel=channel)
                assert {product.pk for product in shown} == {
                    product_id
                    for (product_id, channel_id), listed in published.items()
                    if listed and channel_id == channel.pk
                }
                assert {v.pk for product in shown for v in product.variants.all()} == python
            raise Rollback
    except Rollback:
        pass
