"""Small builders for test data; everything that has a service goes through it."""

from __future__ import annotations

import itertools

from catalog.models import Channel, Product
from catalog.services import (
    ListingInput,
    ProductInput,
    VariantInput,
    channel_create,
    product_create,
)
from channels_api.models import ApiKey
from channels_api.services import api_key_create
from inventory.models import StockMovement, Warehouse
from inventory.services import stock_adjust, warehouse_create

_counter = itertools.count(1)

# A complete shipping address: what an order of goods to ship needs (orders.delivery).
SHIPPING_ADDRESS = {
    "name": "Ada Lovelace",
    "line1": "1 Main St",
    "city": "Springfield",
    "postal_code": "12345",
    "country": "US",
}


def make_channel(code: str | None = None, kind: str = Channel.Kind.WEB, **options) -> Channel:
    return channel_create(code=code or f"ch{next(_counter)}", kind=kind, **options)


def make_key(channel: Channel | None = None, kind: str = ApiKey.Kind.PUBLISHABLE, **options):
    """Returns (ApiKey, raw key)."""
    return api_key_create(kind=kind, channel=channel, **options)


def make_product(
    *,
    slug: str | None = None,
    skus: dict[str, str] | None = None,
    channels: list[Channel] = (),
    prices: dict[str, dict[str, str]] | None = None,
    published: bool = True,
    category: str | None = None,
    name: str | None = None,
) -> Product:
    """A product with variants `{sku: price}` listed in `channels` (prices per channel code)."""
    number = next(_counter)
    slug = slug or f"product-{number}"
    skus = skus or {f"SKU-{number}": "10.00"}
    return product_create(
        data=ProductInput(
            fields={"slug": slug, "name": name or slug.replace("-", " ").title()},
            category=category,
            category_given=category is not None,
            variants=[VariantInput(sku=sku, price=price) for sku, price in skus.items()],
            listings=[
                ListingInput(
                    channel=channel.code,
                    published=published,
                    prices=(prices or {}).get(channel.code),
                )
                for channel in channels
            ],
        )
    )


def make_warehouse(code: str | None = None, channels: list[Channel] = (), **options) -> Warehouse:
    return warehouse_create(code=code or f"wh{next(_counter)}", channels=channels, **options)


def receive(variant, warehouse: Warehouse, quantity: int) -> StockMovement:
    return stock_adjust(
        variant=variant,
        warehouse=warehouse,
        delta=quantity,
        reason=StockMovement.Reason.RECEIPT,
        actor="test",
    )
