"""Demo data for `make run`: four channels, a small catalog, two warehouses with stock, keys.

Everything goes through the domain services, and every step checks what exists
first, so loading twice changes nothing. Everything is in the configured
`DEFAULT_CURRENCY` (the amounts below are written in dollars: `demo_amount`).
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction

from backoffice.money import currency_minor_units, quantize
from catalog.models import Category, Channel, Product, ProductVariant
from catalog.services import (
    ListingInput,
    ProductInput,
    VariantInput,
    channel_create,
    product_create,
)
from channels_api.models import ApiKey
from channels_api.services import api_key_create
from delivery.models import DeliveryZone
from delivery.setup import zone_create
from inventory.models import StockMovement, Warehouse
from inventory.services import stock_adjust, warehouse_create
from orders.models import ShippingMethod, Voucher
from orders.services.setup import shipping_method_create, voucher_create
from staff.models import RefundLimit, StaffProfile
from staff.roles import STORE_MANAGER, SUPPORT, WAREHOUSE_PICKER

CHANNELS = [
    ("web", "Web store", Channel.Kind.WEB),
    ("instagram", "Instagram shop links", Channel.Kind.INSTAGRAM),
    ("chatbot", "Chat assistant", Channel.Kind.CHATBOT),
    ("pos", "Shop till", Channel.Kind.POS),
]
CATEGORIES = [
    ("apparel", "Apparel", None),
    ("tops", "Tops", "apparel"),
    ("outerwear", "Outerwear", "apparel"),
    ("accessories", "Accessories", None),
    ("home", "Home", None),
]
SIZES = ["S", "M", "L"]
COLOURS = ["black", "sand"]
# slug, name, category, base price, sized, coloured
PRODUCTS = [
    ("classic-tee", "Classic Tee", "tops", "19.99", True, True),
    ("pocket-tee", "Pocket Tee", "tops", "24.00", True, True),
    ("long-sleeve-tee", "Long Sleeve Tee", "tops", "29.00", True, False),
    ("linen-shirt", "Linen Shirt", "tops", "59.00", True, False),
    ("knit-sweater", "Knit Sweater", "tops", "79.00", True, True),
    ("zip-hoodie", "Zip Hoodie", "outerwear", "69.00", True, True),
    ("rain-jacket", "Rain Jacket", "outerwear", "129.00", True, False),
    ("quilted-vest", "Quilted Vest", "outerwear", "89.00", True, False),
    ("denim-jacket", "Denim Jacket", "outerwear", "110.00", True, False),
    ("canvas-tote", "Canvas Tote", "accessories", "18.00", False, True),
    ("dad-cap", "Dad Cap", "accessories", "22.00", False, True),
    ("beanie", "Rib Beanie", "accessories", "20.00", False, True),
    ("crew-socks", "Crew Socks (3 pack)", "accessories", "15.00", True, False),
    ("leather-wallet", "Leather Wallet", "accessories", "49.00", False, False),
    ("stoneware-mug", "Stoneware Mug", "home", "16.00", False, True),
    ("soy-candle", "Soy Candle", "home", "28.00", False, False),
    ("linen-napkins", "Linen Napkins (set of 4)", "home", "32.00", False, True),
    ("throw-blanket", "Wool Throw Blanket", "home", "149.00", False, False),
    ("poster-print", "Poster Print", "home", "35.00", False, False),
    ("gift-card-box", "Gift Box", "home", "10.00", False, False),
]
DEMO_USERNAME = "staff"
DEMO_PASSWORD = "backoffice-demo"  # noqa: S105  (printed by `make run`, DEBUG only)
DEMO_ACTOR = "demo-loader"


def demo_amount(dollars: str) -> Decimal:
    """A demo amount (written in dollars) in the configured currency: the same figure where
    the currency has minor units (19.99 EUR, 19.990 KWD), a hundred times it where it has
    none (1999 JPY), so prices, thresholds and fees keep their proportions everywhere."""
    currency = settings.DEFAULT_CURRENCY
    amount = Decimal(dollars)
    if currency_minor_units(currency) == 0:
        amount = amount.scaleb(2)
    return quantize(amount, currency)


def _money(dollars: str) -> str:
    return str(demo_amount(dollars))


def _keys_file() -> Path:
    return Path(settings.VAR_DIR) / "demo-keys.txt"


def load_channels() -> dict[str, Channel]:
    for code, name, kind in CHANNELS:
        if not Channel.objects.filter(code=code).exists():
            channel_create(code=code, name=name, kind=kind, currency=settings.DEFAULT_CURRENCY)
    return {c.code: c for c in Channel.objects.filter(code__in=[c[0] for c in CHANNELS])}


def load_catalog(channels: dict[str, Channel]) -> None:
    for slug, name, parent in CATEGORIES:
        Category.objects.get_or_create(
            slug=slug,
            defaults={"name": name, "parent": Category.objects.filter(slug=parent).first()},
        )
    for index, (slug, name, category, price, sized, coloured) in enumerate(PRODUCTS):
        if Product.objects.filter(slug=slug).exists():
            continue
        code = "".join(word[0] for word in slug.split("-")).upper() + f"{index:02d}"
        variants = []
        for size in SIZES if sized else [None]:
            for colour in COLOURS if coloured else [None]:
                options = {k: v for k, v in {"size": size, "colour": colour}.items() if v}
                sku = "-".join([code, *(v.upper()[:3] for v in options.values())])
                label = " / ".join(options.values())
                variants.append(
                    VariantInput(sku=sku, price=_money(price), name=label or name, options=options)
                )
        # Instagram shoppers get a small launch discount on tees, to show channel prices.
        insta_prices = (
            {
                v.sku: str(quantize(Decimal(v.price) * Decimal("0.9"), settings.DEFAULT_CURRENCY))
                for v in variants
            }
            if category == "tops"
            else None
        )
        product_create(
            data=ProductInput(
                fields={
                    "slug": slug,
                    "name": name,
                    "description": f"{name}: a demo product of the Backoffice catalog.",
                    "media": [f"https://picsum.photos/seed/{slug}/800/800"],
                    "attributes": {"material": "cotton" if category != "home" else "mixed"},
                },
                category=category,
                category_given=True,
                variants=variants,
                listings=[
                    ListingInput(channel="web"),
                    ListingInput(channel="instagram", prices=insta_prices),
                    ListingInput(channel="chatbot"),
                    ListingInput(channel="pos", published=category != "home" or index % 2 == 0),
                ],
            )
        )


def load_stock(channels: dict[str, Channel]) -> None:
    if not Warehouse.objects.filter(code="main").exists():
        warehouse_create(
            code="main",
            name="Main warehouse",
            channels=[channels["web"], channels["instagram"], channels["chatbot"]],
            address={
                "line1": "1 Depot Road",
                "city": "Springfield",
                "postal_code": "12345",
                "country": "US",
            },
        )
    if not Warehouse.objects.filter(code="store").exists():
        warehouse_create(
            code="store",
            name="Flagship store",
            kind=Warehouse.Kind.STORE,
            channels=[channels["pos"], channels["web"], channels["instagram"], channels["chatbot"]],
            address={
                "line1": "10 Main Street",
                "city": "Springfield",
                "postal_code": "12345",
                "country": "US",
            },
        )
    main, store = Warehouse.objects.get(code="main"), Warehouse.objects.get(code="store")
    stocked = set(
        StockMovement.objects.filter(actor=DEMO_ACTOR).values_list(
            "stock_level__variant_id", "stock_level__warehouse_id"
        )
    )
    for index, variant in enumerate(ProductVariant.objects.order_by("id")):
        for warehouse, quantity in ((main, 20 + index % 30), (store, 3 + index % 5)):
            if (variant.pk, warehouse.pk) in stocked:
                continue
            stock_adjust(
                variant=variant,
                warehouse=warehouse,
                delta=quantity,
                reason=StockMovement.Reason.RECEIPT,
                actor=DEMO_ACTOR,
                note="Demo opening stock",
            )


def load_checkout_settings(channels: dict[str, Channel]) -> None:
    """Shipping methods per channel, an unpaid-order limit, and a welcome voucher."""
    store = Warehouse.objects.get(code="store")
    for code in ("web", "instagram", "chatbot"):
        channel = channels[code]
        if channel.unpaid_order_timeout_minutes == 0:
            channel.unpaid_order_timeout_minutes = 120
            channel.storefront_url_template = "http://127.0.0.1:3000/cart/{cart_id}"
            channel.storefront_url = "http://127.0.0.1:3000/"
            channel.save()
        if not ShippingMethod.objects.filter(channel=channel).exists():
            shipping_method_create(
                channel=channel,
                code="standard",
                name="Standard delivery",
                price=_money("4.99"),
                free_over=_money("50.00"),
            )
            shipping_method_create(
                channel=channel, code="express", name="Express delivery", price=_money("12.00")
            )
            shipping_method_create(
                channel=channel,
                code="pickup",
                name="Pick up at the store",
                kind=ShippingMethod.Kind.PICKUP,
                pickup_warehouse=store.code,
            )
    if not ShippingMethod.objects.filter(channel=channels["pos"]).exists():
        shipping_method_create(
            channel=channels["pos"],
            code="pickup",
            name="Taken at the till",
            kind=ShippingMethod.Kind.PICKUP,
            pickup_warehouse=store.code,
        )
    if not Voucher.objects.filter(code="WELCOME10").exists():
        voucher_create(
            code="WELCOME10",
            kind=Voucher.Kind.PERCENTAGE,
            value="10",
            min_subtotal=_money("20.00"),
            currency=settings.DEFAULT_CURRENCY,
        )


# The flagship store delivers within 5 km, in 30 minutes (docs/delivery.md).
STORE_POINT = (39.7817, -89.6501)


def load_delivery(channels: dict[str, Channel]) -> None:
    """A delivery zone around the flagship store and an on-demand method in web and chatbot."""
    store = Warehouse.objects.get(code="store")
    if not DeliveryZone.objects.filter(code="downtown").exists():
        zone_create(
            code="downtown",
            warehouse=store,
            fields={
                "name": "Downtown Springfield",
                "kind": DeliveryZone.Kind.RADIUS,
                "latitude": STORE_POINT[0],
                "longitude": STORE_POINT[1],
                "radius_meters": 5000,
                "currency": settings.DEFAULT_CURRENCY,
                "fee": _money("3.99"),
                "free_over": _money("60.00"),
                "minimum_order": _money("15.00"),
                "preparation_minutes": 10,
            },
        )
    for code in ("web", "chatbot"):
        if not ShippingMethod.objects.filter(channel=channels[code], code="now").exists():
            shipping_method_create(
                channel=channels[code],
                code="now",
                name="Delivery in 30 minutes",
                kind=ShippingMethod.Kind.LOCAL_DELIVERY,
            )


def load_keys(channels: dict[str, Channel]) -> list[tuple[str, str]]:
    """Demo keys are created once; their secrets are kept in var/demo-keys.txt for `make run`."""
    path = _keys_file()
    if path.exists() and ApiKey.objects.filter(name__startswith="demo ", revoked_at=None).exists():
        return [tuple(line.split("\t", 1)) for line in path.read_text().splitlines() if line]
    ApiKey.objects.filter(name__startswith="demo ").delete()
    keys = []
    for code in ("web", "instagram", "chatbot", "pos"):
        _, raw = api_key_create(
            kind=ApiKey.Kind.PUBLISHABLE, channel=channels[code], name=f"demo {code}"
        )
        keys.append((f"publishable ({code})", raw))
    _, raw = api_key_create(kind=ApiKey.Kind.SECRET, name="demo admin")
    keys.append(("secret (admin)", raw))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f"{label}\t{raw}\n" for label, raw in keys))
    path.chmod(0o600)
    return keys


def load_staff_user() -> tuple[str, str] | None:
    """A demo admin login (an owner), only with DEBUG on."""
    if not settings.DEBUG:
        return None
    user_model = get_user_model()
    if not user_model.objects.filter(username=DEMO_USERNAME).exists():
        user_model.objects.create_superuser(DEMO_USERNAME, "staff@example.com", DEMO_PASSWORD)
    return DEMO_USERNAME, DEMO_PASSWORD


# One login per scoped role: (username, role, channels, warehouses, refund limit in dollars).
DEMO_ROLE_LOGINS = [
    ("support", SUPPORT, "all", [], "100.00"),
    ("manager", STORE_MANAGER, [], ["store"], None),
    ("picker", WAREHOUSE_PICKER, [], ["main"], None),
]


def load_role_users() -> list[tuple[str, str]]:
    """Demo logins for the scoped roles (same password as the owner's), only with DEBUG on."""
    if not settings.DEBUG:
        return []
    user_model = get_user_model()
    logins = []
    for username, role, channels, warehouses, limit in DEMO_ROLE_LOGINS:
        user = user_model.objects.filter(username=username).first()
        if user is None:
            user = user_model.objects.create_user(
                username, f"{username}@example.com", DEMO_PASSWORD, is_staff=True
            )
            user.groups.add(Group.objects.get(name=role))
            profile = StaffProfile.objects.create(user=user, all_channels=channels == "all")
            profile.warehouses.set(Warehouse.objects.filter(code__in=warehouses))
            if limit:
                RefundLimit.objects.create(
                    user=user, currency=settings.DEFAULT_CURRENCY, amount=demo_amount(limit)
                )
        logins.append((username, role))
    return logins


def load_demo_data() -> dict:
    with transaction.atomic():
        channels = load_channels()
        load_catalog(channels)
        load_stock(channels)
        load_checkout_settings(channels)
        load_delivery(channels)
        keys = load_keys(channels)
        staff = load_staff_user()
        roles = load_role_users()
    return {"keys": keys, "staff": staff, "roles": roles}
