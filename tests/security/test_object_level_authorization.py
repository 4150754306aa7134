"""OWASP API1 and API3: every endpoint of the served schema, called with another channel's
credentials, refuses to show or change this channel's objects; and no write endpoint lets
a client set prices, totals, statuses, channels or stock.
"""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from django.test import override_settings
from django.utils import timezone

from backoffice.outbox.models import OutboxEvent, WebhookDelivery, WebhookEndpoint
from backoffice.outbox.services import event_fan_out
from backoffice.outbox.webhook_services import webhook_endpoint_create
from catalog.models import Channel
from channels_api.models import ApiKey
from delivery.couriers import courier_availability_set, courier_create
from delivery.dispatch import delivery_dispatch
from delivery.models import Delivery, DeliveryOffer, DeliverySlot, DeliveryZone
from delivery.setup import slots_create, zone_create
from fulfillment.services import fulfillment_create
from inventory.models import StockLevel, StockMovement
from orders.courier_access.services import fulfiller_access_create
from orders.links.services import LinkLineInput, link_create
from orders.models import Cart, FulfillerAccess, Order, ShopLink
from orders.services.setup import shipping_method_create, voucher_create
from tests.conftest import Api
from tests.factories import make_key, make_product, make_warehouse, receive

pytestmark = pytest.mark.django_db

ADDRESS = {
    "name": "Ada",
    "line1": "1 St",
    "city": "Paris",
    "postal_code": "75001",
    "country": "FR",
    "phone": "+33 6 12 34 56 78",
}


@pytest.fixture
def world():
    """Channel `home` owns every object; channel `away` holds the foreign credentials."""
    home = Channel.objects.create(code="home-ch", name="Home", kind="web")
    away = Channel.objects.create(code="away-ch", name="Away", kind="web")
    warehouse = make_warehouse("home-wh", channels=[home])
    away_warehouse = make_warehouse("away-wh", channels=[away])
    variant = make_product(
        slug="home-only", skus={"HOME-SKU": "10.00"}, channels=[home]
    ).variants.get()
    away_variant = make_product(
        slug="away-only", skus={"AWAY-SKU": "10.00"}, channels=[away]
    ).variants.get()
    receive(variant, warehouse, 50)
    receive(away_variant, away_warehouse, 50)
    home_store = Api(make_key(home)[1])
    order = home_store.post(
        "/api/v1/store/checkout",
        {
            "lines": [{"sku": "HOME-SKU", "quantity": 2}],
            "email": "ada@example.com",
            "phone": "+33 6 12 34 56 78",
            "shipping_address": ADDRESS,
            "payment": {"provider": "test", "token": "tok_approve"},
        },
    ).json()
    cart = home_store.post(
        "/api/v1/store/carts", {"lines": [{"sku": "HOME-SKU", "quantity": 1}]}
    ).json()
    home_order = Order.objects.get(pk=int(order["id"]))
    [fulfillment] = fulfillment_create(order=home_order)
    link = link_create(channel=home, lines=[LinkLineInput(sku="HOME-SKU")])
    voucher = voucher_create(code="HOME-ONLY", kind="fixed", value="1.00", channels=[home])
    access, _ = fulfiller_access_create(name="Home courier", orders=[home_order])
    with override_settings(WEBHOOK_ALLOW_PRIVATE_URLS=True):
        endpoint = webhook_endpoint_create(
            url="http://127.0.0.1:9/hooks", event_types=["*"], channel_code=home.code
        )
    event_fan_out()
    away_order = (
        Api(make_key(away)[1])
        .post(
            "/api/v1/store/checkout",
            {
                "lines": [{"sku": "AWAY-SKU", "quantity": 1}],
                "email": "bob@example.com",
                "shipping_address": ADDRESS,
            },
        )
        .json()
    )
    _, away_fulfiller = fulfiller_access_create(
        name="Away courier", orders=[Order.objects.get(pk=int(away_order["id"]))]
    )
    delivery = home_delivery(home, warehouse, home_store)
    _, away_courier = courier_create(name="Away courier", warehouses=[away_warehouse])
    return {
        "home": home,
        "ids": {
            "order": order["id"],
            "token": order["token"],
            "number": order["number"],
            "cart": cart["id"],
            "line": cart["lines"][0]["id"],
            "slug": "home-only",
            "link": link.code,
            "voucher": voucher.code,
            "fulfillment": str(fulfillment.pk),
            "warehouse": "home-wh",
            "sku": "HOME-SKU",
            "fulfiller": str(access.pk),
            "webhook": str(endpoint.pk),
            "delivery": str(WebhookDelivery.objects.filter(endpoint=endpoint).first().pk),
            "event": str(OutboxEvent.objects.filter(channel_code=home.code).first().id),
            "home_delivery": str(delivery.pk),
            "offer": str(delivery.offers.get().pk),
            "zone": delivery.zone.code,
            "slot": str(delivery.zone.slots.get().pk),
        },
        "foreign": {
            "store": Api(make_key(away)[1]),
            "admin": Api(make_key(away, kind=ApiKey.Kind.SECRET)[1]),
            "fulfiller": Api(away_courier),
            "order_fulfiller": Api(away_fulfiller),
        },
    }


def home_delivery(home, warehouse, home_store):
    """An on-demand order of `home`, offered to a courier of its store."""
    shipping_method_create(channel=home, code="now", name="Now", kind="local_delivery")
    zone = zone_create(
        code="home-zone",
        warehouse=warehouse,
        fields={"kind": "postal_codes", "postal_codes": ["75001"], "currency": "USD"},
    )
    starts = timezone.now() + timedelta(days=1)
    slots_create(zone=zone, starts_at=starts, ends_at=starts + timedelta(hours=1),
                 slot_minutes=60, capacity=5)  # fmt: skip
    courier, _ = courier_create(name="Home courier", warehouses=[warehouse])
    courier_availability_set(courier=courier, available=True)
    answer = home_store.post(
        "/api/v1/store/checkout",
        {
            "lines": [{"sku": "HOME-SKU", "quantity": 1}],
            "shipping_address": ADDRESS,
            "shipping_method": "now",
        },
    ).json()
    delivery = Delivery.objects.get(order_id=int(answer["id"]))
    delivery_dispatch(delivery_id=delivery.pk)
    return delivery


# Which object each path parameter names, by the path it appears in.
PARAMETERS = [
    (r"/admin/deliveries/\{id\}", {"id": "home_delivery"}),
    (r"/admin/delivery-zones/\{code\}/slots/\{id\}", {"code": "zone", "id": "slot"}),
    (r"/admin/delivery-zones/\{code\}", {"code": "zone"}),
    (r"/fulfiller/deliveries/\{id\}", {"id": "home_delivery"}),
    (r"/fulfiller/offers/\{id\}", {"id": "offer"}),
    (r"/admin/events/\{id\}", {"id": "event"}),
    (r"/admin/fulfillers/\{id\}", {"id": "fulfiller"}),
    (r"/admin/fulfillments/\{id\}", {"id": "fulfillment"}),
    (r"/admin/orders/\{id\}", {"id": "order"}),
    (r"/admin/products/\{id\}", {"id": "product"}),
    (r"/admin/webhooks/deliveries/\{id\}", {"id": "delivery"}),
    (r"/admin/webhooks/\{id\}", {"id": "webhook"}),
    (r"/admin/links/\{code\}", {"code": "link"}),
    (r"/admin/vouchers/\{code\}", {"code": "voucher"}),
    (r"/admin/warehouses/\{code\}", {"code": "warehouse"}),
    (r"/admin/stock/\{warehouse_code\}/\{sku\}", {"warehouse_code": "warehouse", "sku": "sku"}),
    (r"/fulfiller/orders/\{id\}", {"id": "order"}),
    (r"/store/carts/\{cart_id\}", {"cart_id": "cart", "line_id": "line"}),
    (r"/store/links/\{code\}", {"code": "link"}),
    (r"/store/orders/\{token\}", {"token": "token"}),
    (r"/store/products/\{slug\}", {"slug": "slug"}),
]

# A body that passes validation, so a refusal can only come from authorization.
BODIES = [
    (r"/ship$", {"carrier": "DHL", "tracking_number": "X1"}),
    (r"/messages$", {"body": "Hello"}),
    (r"/status$", {"status": "in_transit"}),
    (r"/notes$", {"note": "Hi"}),
    (r"/returns$", {"lines": [{"sku": "HOME-SKU", "quantity": 1}], "reason": "x"}),
    (r"/lines$", {"sku": "HOME-SKU", "quantity": 1}),
    (r"/lines/\{line_id\}$", {"quantity": 1}),
    (r"/extend$", {"seconds": 60}),
    (r"/stock/\{warehouse_code\}/\{sku\}$", {"on_hand": 1}),
    (r"/webhooks/\{id\}$", {"description": "mine now"}),
    (r"/warehouses/\{code\}$", {"name": "mine now"}),
    (r"/products/\{id\}$", {"name": "mine now"}),
    (r"/vouchers/\{code\}$", {"active": False}),
    (r"/carts/\{cart_id\}$", {"email": "thief@example.com"}),
    (r"/location$", {"latitude": 48.86, "longitude": 2.35}),
    (r"/assign$", {"courier": "1"}),
    (r"/complete$", {"note": "x", "pin": "0000"}),
    (
        r"/slots$",
        {"starts_at": "2030-01-01T10:00:00Z", "ends_at": "2030-01-01T11:00:00Z", "capacity": 1},
    ),
    (r"/slots/\{id\}$", {"capacity": 1}),
]
# Lists that need a parameter to answer anything (an address): 400 without it.
NEEDS_PARAMETERS = {"/api/v1/store/delivery-options"}


def schema_operations(client) -> list[tuple[str, str]]:
    schema = client.get("/api/v1/schema/?format=json").json()
    return [
        (method.upper(), path)
        for path, operations in schema["paths"].items()
        for method in operations
        if method in {"get", "post", "put", "patch", "delete"}
    ]


def snapshot() -> str:
    """Everything the walk could have changed, as one comparable value."""
    return json.dumps(
        [
            list(
                Order.objects.order_by("pk").values_list(
                    "status", "payment_status", "fulfillment_status", "email"
                )
            ),
            list(Cart.objects.order_by("pk").values_list("status", "email", "reserved_until")),
            list(StockLevel.objects.order_by("pk").values_list("on_hand", "allocated")),
            StockMovement.objects.count(),
            list(ShopLink.objects.values_list("active")),
            list(WebhookEndpoint.objects.values_list("description", "active", "secret")),
            list(FulfillerAccess.objects.values_list("revoked_at")),
            list(Delivery.objects.values_list("status", "courier_id", "pin_attempts")),
            list(DeliveryOffer.objects.values_list("status")),
            list(DeliverySlot.objects.values_list("capacity", "booked")),
            list(DeliveryZone.objects.values_list("name", "fee")),
            list(
                __import__(
                    "fulfillment.models", fromlist=["Fulfillment"]
                ).Fulfillment.objects.values_list("status")
            ),
        ],
        default=str,
    )


def fill(path: str, ids: dict, home_product_id: str) -> str | None:
    for pattern, names in PARAMETERS:
        if re.search(pattern, path):
            for name, kind in names.items():
                value = home_product_id if kind == "product" else ids[kind]
                path = path.replace("{" + name + "}", value)
            return path
    return None


def test_every_endpoint_refuses_another_channels_objects(world, anonymous_api):
    from catalog.models import Product

    ids = world["ids"]
    product_id = str(Product.objects.get(slug="home-only").pk)
    operations = schema_operations(anonymous_api)
    before = snapshot()
    checked = 0
    for method, path in operations:
        if "{" not in path:
            continue
        audience = path.split("/")[3]
        if audience == "payments":
            continue  # no credential: the PSP signs it (tests/payments/test_stripe_checkout.py)
        client = world["foreign"][audience]
        url = fill(path, ids, product_id)
        assert url is not None, f"no test object for {path}: add it to PARAMETERS"
        body = next((b for pattern, b in BODIES if re.search(pattern, path)), {})
        response = client.generic(method, url, json.dumps(body), content_type="application/json")
        assert response.status_code in (403, 404), (
            method,
            url,
            response.status_code,
            response.content[:300],
        )
        assert response["Content-Type"] == "application/problem+json"
        checked += 1
    assert checked >= 40  # the walk really covered the schema
    assert snapshot() == before


def test_lists_never_show_another_channels_objects(world, anonymous_api):
    ids = world["ids"]
    markers = [
        "home-ch",
        ids["token"],
        ids["link"],
        "home-wh",
        ids["cart"],
        "home-only",
        "HOME-SKU",
    ]
    listed = 0
    for method, path in schema_operations(anonymous_api):
        if method != "GET" or "{" in path:
            continue
        if path in NEEDS_PARAMETERS:
            continue
        audience = path.split("/")[3]
        response = world["foreign"][audience].get(path)
        assert response.status_code in (200, 403), (path, response.status_code)
        text = response.content.decode()
        assert not [marker for marker in markers if marker in text], (path, text[:500])
        listed += 1
    assert listed >= 15


def test_foreign_writes_naming_this_channel_are_refused(world):
    ids, admin, store = world["ids"], world["foreign"]["admin"], world["foreign"]["store"]
    before = snapshot()
    refused = [
        admin.post(
            "/api/v1/admin/links",
            {"channel": "home-ch", "lines": [{"sku": "HOME-SKU", "quantity": 1}]},
        ),
        admin.post(
            "/api/v1/admin/shipping-methods",
            {"channel": "home-ch", "code": "x", "name": "X", "price": "1.00"},
        ),
        admin.post(
            "/api/v1/admin/stock/adjustments",
            {"sku": "HOME-SKU", "warehouse": "home-wh", "delta": 5, "reason": "x"},
        ),
        admin.post(
            "/api/v1/admin/stock/transfers",
            {"sku": "HOME-SKU", "source": "home-wh", "destination": "away-wh", "quantity": 1},
        ),
        admin.post(
            "/api/v1/admin/stock/bulk",
            {"items": [{"sku": "HOME-SKU", "warehouse": "home-wh", "on_hand": 0}]},
        ),
        admin.post(
            "/api/v1/admin/webhooks",
            {"url": "https://example.com/h", "events": ["*"], "channel": "home-ch"},
        ),
        admin.post("/api/v1/admin/channels", {"code": "sneaky"}),
        admin.post("/api/v1/admin/fulfillers", {"name": "x", "orders": [ids["order"]]}),
        store.post("/api/v1/store/checkout", {"lines": [{"sku": "HOME-SKU", "quantity": 1}]}),
        store.post("/api/v1/store/carts", {"lines": [{"sku": "HOME-SKU", "quantity": 1}]}),
        store.post(
            "/api/v1/store/orders/lookup", {"number": ids["number"], "email": "ada@example.com"}
        ),
    ]
    bulk = refused.pop(4)  # per-item results: the item is refused, the call is not
    assert bulk.status_code == 200
    assert bulk.json()["results"][0]["status"] == "error"
    for response in refused:
        assert response.status_code in (400, 403, 404), (response.status_code, response.json())
    assert snapshot() == before


def test_write_endpoints_ignore_prices_totals_statuses_channels_and_stock(world):
    """Mass assignment: each write with server-owned fields added changes none of them."""
    home = world["home"]
    store = Api(make_key(home)[1])
    admin = Api(make_key(None, kind=ApiKey.Kind.SECRET)[1])
    forged = {
        "price": "0.01",
        "unit_price": "0.01",
        "total": "0.01",
        "subtotal": "0.01",
        "discount": "99",
        "tax": "0",
        "status": "completed",
        "payment_status": "paid",
        "fulfillment_status": "fulfilled",
        "channel": "away-ch",
        "available": 9999,
        "on_hand": 9999,
        "allocated": 0,
        "id": "1",
        "token": "forged",
        "number": "1",
    }
    line = {"sku": "HOME-SKU", "quantity": 1, **forged}

    order = store.post(
        "/api/v1/store/checkout", {"lines": [line], "shipping_address": ADDRESS, **forged}
    ).json()
    assert (order["total"]["amount"], order["status"], order["channel"]) == (
        "10.00",
        "pending",
        "home-ch",
    )
    assert order["token"] != "forged" and order["id"] != "1"
    cart = store.post("/api/v1/store/carts", {"lines": [line], **forged}).json()
    assert (cart["total"]["amount"], cart["status"], cart["channel"]) == (
        "10.00",
        "open",
        "home-ch",
    )
    cart_url = f"/api/v1/store/carts/{cart['id']}"
    store.patch(cart_url, {**forged, "shipping_address": ADDRESS})
    store.post(f"{cart_url}/lines", line)
    store.patch(f"{cart_url}/lines/{cart['lines'][0]['id']}", {"quantity": 1, **forged})
    cart = store.get(cart_url).json()
    assert (cart["total"]["amount"], cart["status"]) == ("10.00", "open")
    completed = store.post(f"{cart_url}/complete", forged).json()
    assert (completed["total"]["amount"], completed["payment_status"]) == ("10.00", "unpaid")
    link = admin.post("/api/v1/admin/links", {**forged, "channel": "home-ch", "lines": [line]})
    assert link.status_code == 201, link.json()
    link = link.json()
    assert link["channel"] == "home-ch"
    assert link["lines"][0]["price"]["amount"] == "10.00"
    admin.post(f"/api/v1/admin/orders/{order['id']}/notes", {"note": "x", **forged})
    admin.post(f"/api/v1/admin/orders/{order['id']}/capture", forged)
    captured = admin.get(f"/api/v1/admin/orders/{order['id']}").json()
    assert captured["payments"][0]["amount"]["amount"] == "10.00"
    warehouse = admin.patch("/api/v1/admin/warehouses/home-wh", forged).json()
    assert warehouse["channels"] == ["home-ch"]
    level = StockLevel.objects.get(variant__sku="HOME-SKU")
    assert (level.on_hand, level.allocated) == (50, 5)  # four orders here, one delivery
