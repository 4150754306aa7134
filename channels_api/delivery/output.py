"""Output shapes of deliveries for each audience: the customer, the courier and staff."""

from __future__ import annotations

from django.conf import settings
from rest_framework import serializers

from backoffice.money import money_dict
from backoffice.timefmt import rfc3339
from channels_api.fields import MoneyOutput
from delivery.events import delivery_staff_view, delivery_view
from delivery.models import Delivery, DeliveryOffer, DeliverySlot, DeliveryZone
from orders.courier_access.services import phone_mask


class WindowOutput(serializers.Serializer):
    earliest = serializers.DateTimeField()
    latest = serializers.DateTimeField()


class CourierPositionOutput(serializers.Serializer):
    name = serializers.CharField()
    latitude = serializers.FloatField(allow_null=True)
    longitude = serializers.FloatField(allow_null=True)
    located_at = serializers.DateTimeField(allow_null=True)


class CustomerDeliveryOutput(serializers.Serializer):
    """The delivery as its customer sees it (the order view and the stream's `delivery`)."""

    status = serializers.ChoiceField(choices=Delivery.Status.choices)
    zone = serializers.CharField()
    scheduled = WindowOutput(allow_null=True, help_text="The slot, for a scheduled delivery.")
    estimated_arrival = WindowOutput(allow_null=True, help_text="Null once it ended.")
    courier = CourierPositionOutput(allow_null=True)
    proof = serializers.CharField(allow_null=True)
    delivered_at = serializers.DateTimeField(allow_null=True)
    pin = serializers.CharField(
        allow_null=True, help_text="Give it to the courier at the door (null once delivered)."
    )
    stream = serializers.CharField(help_text="Path of the live stream of this order (SSE).")


def customer_delivery_data(delivery: Delivery | None, token: str) -> dict | None:
    if delivery is None:
        return None
    return {
        **delivery_view(delivery, with_pin=True),
        "stream": f"/api/v1/store/orders/{token}/stream",
    }


class StaffDeliveryOutput(serializers.Serializer):
    id = serializers.CharField()
    order = serializers.DictField()
    channel = serializers.CharField()
    zone_code = serializers.CharField()
    status = serializers.ChoiceField(choices=Delivery.Status.choices)
    zone = serializers.CharField()
    scheduled = WindowOutput(allow_null=True)
    estimated_arrival = WindowOutput(allow_null=True)
    courier = CourierPositionOutput(allow_null=True)
    courier_id = serializers.CharField(allow_null=True)
    proof = serializers.CharField(allow_null=True)
    delivered_at = serializers.DateTimeField(allow_null=True)
    pin_attempts = serializers.IntegerField()


def staff_delivery_data(delivery: Delivery) -> dict:
    return delivery_staff_view(delivery)


class PlaceOutput(serializers.Serializer):
    name = serializers.CharField()
    address = serializers.DictField(allow_null=True)
    latitude = serializers.FloatField(allow_null=True)
    longitude = serializers.FloatField(allow_null=True)


class CourierDeliveryOutput(serializers.Serializer):
    """A delivery as its courier sees it: where to pick up and drop off, never a contact."""

    id = serializers.CharField()
    status = serializers.ChoiceField(choices=Delivery.Status.choices)
    order = serializers.DictField(help_text="`id`, `number` and `lines` (SKU, name, quantity).")
    pickup = PlaceOutput()
    dropoff = PlaceOutput()
    ready_at = serializers.DateTimeField()
    estimated_arrival = WindowOutput(allow_null=True)
    proof = serializers.ChoiceField(choices=DeliveryZone.Proof.choices, help_text="What it takes.")
    pin_attempts_left = serializers.IntegerField()


def pickup_place(zone: DeliveryZone) -> dict:
    return {
        "name": zone.warehouse.name,
        "address": zone.warehouse.address or None,
        "latitude": zone.latitude,
        "longitude": zone.longitude,
    }


def dropoff_address(delivery: Delivery) -> dict | None:
    address = dict(delivery.order.shipping_address or {}) or None
    if address and address.get("phone"):
        address["phone"] = phone_mask(address["phone"])
    return address


def courier_delivery_data(delivery: Delivery) -> dict:
    zone, order = delivery.zone, delivery.order
    return {
        "id": str(delivery.pk),
        "status": delivery.status,
        "order": {
            "id": str(order.pk),
            "number": order.number,
            "lines": [
                {"sku": line.sku, "name": line.name, "quantity": line.quantity}
                for line in order.lines.all()
            ],
        },
        "pickup": pickup_place(zone),
        "dropoff": {
            "name": (order.shipping_address or {}).get("name", "").split(" ")[0],
            "address": dropoff_address(delivery) if delivery.active else None,
            "latitude": delivery.dropoff_latitude if delivery.active else None,
            "longitude": delivery.dropoff_longitude if delivery.active else None,
        },
        "ready_at": rfc3339(delivery.ready_at),
        "estimated_arrival": {
            "earliest": rfc3339(delivery.estimated_earliest),
            "latest": rfc3339(delivery.estimated_latest),
        }
        if delivery.active
        else None,
        "proof": zone.proof,
        "pin_attempts_left": max(0, settings.DELIVERY_PIN_ATTEMPTS - delivery.pin_attempts),
    }


class OfferOutput(serializers.Serializer):
    """An offer before it is accepted: the store, the drop-off's area and distance; the
    address comes with the delivery once accepted."""

    id = serializers.CharField()
    expires_at = serializers.DateTimeField()
    pickup = PlaceOutput()
    dropoff_postal_code = serializers.CharField()
    distance_meters = serializers.IntegerField(allow_null=True)
    ready_at = serializers.DateTimeField()


def offer_data(offer: DeliveryOffer) -> dict:
    delivery = offer.delivery
    zone = delivery.zone
    return {
        "id": str(offer.pk),
        "expires_at": rfc3339(offer.expires_at),
        "pickup": pickup_place(zone),
        "dropoff_postal_code": (delivery.order.shipping_address or {}).get("postal_code", ""),
        "distance_meters": delivery.distance_meters,
        "ready_at": rfc3339(delivery.ready_at),
    }


class SlotOutput(serializers.Serializer):
    id = serializers.CharField()
    starts_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField()
    capacity = serializers.IntegerField()
    remaining = serializers.IntegerField()


def slot_data(slot: DeliverySlot) -> dict:
    return {
        "id": str(slot.pk),
        "starts_at": rfc3339(slot.starts_at),
        "ends_at": rfc3339(slot.ends_at),
        "capacity": slot.capacity,
        "remaining": slot.remaining,
    }


class ZoneOutput(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    warehouse = serializers.CharField()
    kind = serializers.ChoiceField(choices=DeliveryZone.Kind.choices)
    latitude = serializers.FloatField(allow_null=True)
    longitude = serializers.FloatField(allow_null=True)
    radius_meters = serializers.IntegerField(allow_null=True)
    postal_codes = serializers.ListField(child=serializers.CharField())
    country = serializers.CharField()
    fee = MoneyOutput()
    free_over = MoneyOutput(allow_null=True)
    minimum_order = MoneyOutput()
    preparation_minutes = serializers.IntegerField()
    speed_kmh = serializers.IntegerField()
    travel_minutes = serializers.IntegerField()
    opening_hours = serializers.DictField()
    timezone = serializers.CharField()
    proof = serializers.ChoiceField(choices=DeliveryZone.Proof.choices)
    provider = serializers.CharField()
    active = serializers.BooleanField()


def zone_data(zone: DeliveryZone) -> dict:
    currency = zone.currency
    return {
        "code": zone.code,
        "name": zone.name,
        "warehouse": zone.warehouse.code,
        "kind": zone.kind,
        "latitude": zone.latitude,
        "longitude": zone.longitude,
        "radius_meters": zone.radius_meters,
        "postal_codes": list(zone.postal_codes),
        "country": zone.country,
        "fee": money_dict(zone.fee, currency),
        "free_over": money_dict(zone.free_over, currency) if zone.free_over is not None else None,
        "minimum_order": money_dict(zone.minimum_order, currency),
        "preparation_minutes": zone.preparation_minutes,
        "speed_kmh": zone.speed_kmh,
        "travel_minutes": zone.travel_minutes,
        "opening_hours": zone.opening_hours,
        "timezone": zone.timezone,
        "proof": zone.proof,
        "provider": zone.provider,
        "active": zone.active,
    }


class CartDeliveryOutput(serializers.Serializer):
    """An on-demand cart's delivery as it stands: the zone, fee and arrival, or why not."""

    zone = serializers.CharField(allow_null=True)
    slot = SlotOutput(allow_null=True)
    fee = MoneyOutput(allow_null=True)
    estimated_arrival = WindowOutput(allow_null=True)
    problem = serializers.DictField(
        allow_null=True,
        help_text="`code` and `detail` of what completing it now would answer (e.g. "
        "`below_delivery_minimum`), else null.",
    )


def cart_delivery_data(cart, subtotal) -> dict | None:
    from backoffice.exceptions import DomainError
    from delivery.checkout import CheckoutPlanner

    method = cart.shipping_method
    if method is None or method.kind != method.Kind.LOCAL_DELIVERY:
        return None
    try:
        quote = CheckoutPlanner().quote(
            channel=cart.channel, address=cart.shipping_address, subtotal=subtotal, cart=cart
        )
    except DomainError as error:
        return {
            "zone": None,
            "slot": None,
            "fee": None,
            "estimated_arrival": None,
            "problem": {"code": error.code, "detail": error.detail},
        }
    promise = quote.details
    return {
        "zone": promise.match.zone.name,
        "slot": slot_data(promise.slot) if promise.slot else None,
        "fee": money_dict(quote.fee, cart.channel.currency),
        "estimated_arrival": {
            "earliest": rfc3339(promise.estimate.earliest),
            "latest": rfc3339(promise.estimate.latest),
        },
        "problem": None,
    }
