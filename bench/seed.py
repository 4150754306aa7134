"""Load the benchmark's data through the services: channels, catalog, two warehouses, keys.

Four channels (web, instagram, chatbot, pos) all sell every product; 1,000 products of
one SKU each have stock in both warehouses; one more SKU is the flash-sale item with
exactly `flash_stock` units, split over the two warehouses. The first warehouse delivers
on demand: a radius zone around it (`bench-zone`), the `now` method in every channel and
a day of hourly slots, for the `checkout-delivery` and `tracking` scenarios.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import timedelta

from django.utils import timezone

from bench.common import ZONE_LATITUDE, ZONE_LONGITUDE
from catalog.models import Category, Channel
from catalog.services import (
    ListingInput,
    ProductInput,
    VariantInput,
    channel_create,
    product_create,
)
from channels_api.models import ApiKey
from channels_api.services import api_key_create
from delivery.setup import slots_create, zone_create
from inventory.models import StockMovement, Warehouse
from inventory.services import stock_adjust, warehouse_create
from orders.services.setup import shipping_method_create

CHANNELS = (
    ("web", Channel.Kind.WEB),
    ("instagram", Channel.Kind.INSTAGRAM),
    ("chatbot", Channel.Kind.CHATBOT),
    ("pos", Channel.Kind.POS),
)
FLASH_SKU = "FLASH-1"
CATEGORY_COUNT = 10
SLOT_COUNT, SLOT_CAPACITY = 24, 100_000


@dataclass
class Seeded:
    """What the load generator needs: keys, SKUs, slugs and the flash-sale item."""

    keys: dict[str, str] = field(default_factory=dict)
    skus: list[str] = field(default_factory=list)
    slugs: list[str] = field(default_factory=list)
    flash_sku: str = FLASH_SKU
    flash_stock: int = 0
    warehouses: list[str] = field(default_factory=list)
    delivery_slots: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return asdict(self)


def seed(
    *, products: int = 1000, stock_per_warehouse: int = 10_000, flash_stock: int = 500
) -> Seeded:
    """Create everything once, through the same services the API and the admin call."""
    seeded = Seeded(flash_stock=flash_stock)
    channels = [channel_create(code=code, kind=kind) for code, kind in CHANNELS]
    for channel in channels:
        shipping_method_create(
            channel=channel, code="standard", name="Standard", price="4.99", free_over="100.00"
        )
        # Rate limit 0: the benchmark measures the API, not the limiter.
        _, raw_key = api_key_create(
            kind=ApiKey.Kind.PUBLISHABLE, channel=channel, name="bench", rate_limit=0
        )
        seeded.keys[channel.code] = raw_key
    # Both warehouses serve every channel; "east" comes first in routing.
    warehouses = [
        warehouse_create(code=code, kind=Warehouse.Kind.WAREHOUSE, channels=channels)
        for code in ("east", "west")
    ]
    seeded.warehouses = [warehouse.code for warehouse in warehouses]
    seeded.delivery_slots = _on_demand(warehouses[0], channels)
    categories = [
        Category.objects.create(slug=f"category-{number}", name=f"Category {number}")
        for number in range(CATEGORY_COUNT)
    ]
    for number in range(products):
        sku = f"SKU-{number:04d}"
        slug = f"product-{number:04d}"
        variant = _product(
            slug=slug,
            sku=sku,
            price=f"{10 + number % 90}.99",
            category=categories[number % CATEGORY_COUNT].slug,
            channels=channels,
        )
        for warehouse in warehouses:
            _receive(variant, warehouse, stock_per_warehouse)
        seeded.skus.append(sku)
        seeded.slugs.append(slug)
    flash = _product(
        slug="flash-sale", sku=FLASH_SKU, price="49.00", category=None, channels=channels
    )
    # Split over both warehouses so the sale also exercises routing across them.
    first = flash_stock * 3 // 5
    for warehouse, units in zip(warehouses, (first, flash_stock - first), strict=True):
        if units:
            _receive(flash, warehouse, units)
    return seeded


def _on_demand(store: Warehouse, channels: list[Channel]) -> list[str]:
    """The zone, the on-demand method in every channel, and the slots (ids) of tomorrow."""
    zone = zone_create(
        code="bench-zone",
        warehouse=store,
        fields={
            "kind": "radius",
            "latitude": ZONE_LATITUDE,
            "longitude": ZONE_LONGITUDE,
            "radius_meters": 50_000,
            "currency": channels[0].currency,
            "fee": "2.00",
            "minimum_order": "5.00",
        },
    )
    for channel in channels:
        shipping_method_create(channel=channel, code="now", name="Now", kind="local_delivery")
    tomorrow = timezone.now().replace(minute=0, second=0, microsecond=0) + timedelta(days=1)
    slots = slots_create(
        zone=zone,
        starts_at=tomorrow,
        ends_at=tomorrow + timedelta(hours=SLOT_COUNT),
        slot_minutes=60,
        capacity=SLOT_CAPACITY,
    )
    return [str(slot.pk) for slot in slots]


def _product(*, slug: str, sku: str, price: str, category: str | None, channels: list[Channel]):
    product = product_create(
        data=ProductInput(
            fields={
                "slug": slug,
                "name": slug.replace("-", " ").title(),
                "description": f"Benchmark product {slug}.",
            },
            category=category,
            category_given=category is not None,
            variants=[VariantInput(sku=sku, price=price)],
            # Instagram sells a little cheaper: one channel price override per product.
            listings=[
                ListingInput(
                    channel=channel.code,
                    published=True,
                    prices={sku: "9.99"} if channel.code == "instagram" else None,
                )
                for channel in channels
            ],
        )
    )
    return product.variants.get()


def _receive(variant, warehouse: Warehouse, units: int) -> None:
    stock_adjust(
        variant=variant,
        warehouse=warehouse,
        delta=units,
        reason=StockMovement.Reason.RECEIPT,
        actor="bench",
    )
