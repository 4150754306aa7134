"""Output shapes of carts and orders, shared by the store and admin audiences."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from backoffice.money import money_dict
from backoffice.timefmt import rfc3339
from channels_api.delivery.output import (
    CartDeliveryOutput,
    CustomerDeliveryOutput,
    cart_delivery_data,
    customer_delivery_data,
)
from channels_api.fields import MoneyOutput
from delivery.models import Delivery
from delivery.selectors import delivery_for_order
from orders.events import order_payload
from orders.models import Order
from orders.services.carts import CartView


class CartLineOutput(serializers.Serializer):
    id = serializers.CharField()
    sku = serializers.CharField()
    name = serializers.CharField()
    quantity = serializers.IntegerField()
    unit_price = MoneyOutput(allow_null=True)
    total = MoneyOutput(allow_null=True)
    available = serializers.BooleanField(help_text="False when the channel stopped selling it.")


class ShippingMethodOutput(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    kind = serializers.CharField()
    price = MoneyOutput()
    free_over = MoneyOutput(allow_null=True)
    pickup_warehouse = serializers.CharField(allow_null=True)


def shipping_method_data(method, currency: str) -> dict | None:
    if method is None:
        return None
    return {
        "code": method.code,
        "name": method.name,
        "kind": method.kind,
        "price": money_dict(method.price, currency),
        "free_over": money_dict(method.free_over, currency)
        if method.free_over is not None
        else None,
        "pickup_warehouse": method.pickup_warehouse.code if method.pickup_warehouse_id else None,
    }


class CartOutput(serializers.Serializer):
    """Schema of a cart; `cart_data` builds it."""

    id = serializers.CharField()
    channel = serializers.CharField()
    status = serializers.CharField()
    email = serializers.CharField()
    phone = serializers.CharField()
    shipping_address = serializers.DictField(allow_null=True)
    shipping_method = ShippingMethodOutput(allow_null=True)
    voucher_code = serializers.CharField(allow_null=True)
    lines = CartLineOutput(many=True)
    subtotal = MoneyOutput()
    shipping = MoneyOutput()
    discount = MoneyOutput()
    tax = MoneyOutput()
    total = MoneyOutput()
    reserved_until = serializers.DateTimeField(allow_null=True)
    order = serializers.DictField(allow_null=True)
    delivery = CartDeliveryOutput(allow_null=True, help_text="With an on-demand method.")
    created_at = serializers.DateTimeField()


def cart_data(view: CartView, order: Order | None = None) -> dict:
    cart, totals, currency = view.cart, view.totals, view.totals.currency
    return {
        "id": str(cart.id),
        "channel": cart.channel.code,
        "status": cart.status,
        "email": cart.email,
        "phone": cart.phone,
        "shipping_address": cart.shipping_address,
        "shipping_method": shipping_method_data(cart.shipping_method, currency),
        "voucher_code": cart.voucher.code if cart.voucher_id else None,
        "lines": [
            {
                "id": str(line.id),
                "sku": line.variant.sku,
                "name": priced.name if priced else line.variant.sku,
                "quantity": line.quantity,
                "unit_price": money_dict(priced.unit_price, currency) if priced else None,
                "total": money_dict(priced.total, currency) if priced else None,
                "available": priced is not None,
            }
            for line, priced in view.lines
        ],
        "subtotal": money_dict(totals.subtotal, currency),
        "shipping": money_dict(totals.shipping, currency),
        "discount": money_dict(totals.discount, currency),
        "tax": money_dict(totals.tax, currency),
        "total": money_dict(totals.total, currency),
        "reserved_until": rfc3339(cart.reserved_until),
        "order": {"number": order.number, "token": str(order.token)} if order else None,
        "delivery": cart_delivery_data(cart, totals.subtotal)
        if cart.status == cart.Status.OPEN
        else None,
        "created_at": rfc3339(cart.created_at),
    }


class OrderLineOutput(serializers.Serializer):
    sku = serializers.CharField()
    name = serializers.CharField()
    quantity = serializers.IntegerField()
    unit_price = MoneyOutput()
    total = MoneyOutput()


class TimelineOutput(serializers.Serializer):
    type = serializers.CharField()
    at = serializers.DateTimeField()


class TrackingOutput(serializers.Serializer):
    status = serializers.CharField()
    carrier = serializers.CharField()
    tracking_number = serializers.CharField()
    tracking_url = serializers.CharField()
    shipped_at = serializers.DateTimeField(allow_null=True)
    delivered_at = serializers.DateTimeField(allow_null=True)


def tracking_data(order: Order) -> list[dict]:
    """Shipments that left, with their tracking links (one query)."""
    return [
        {
            "status": f.status,
            "carrier": f.carrier,
            "tracking_number": f.tracking_number,
            "tracking_url": f.tracking_url,
            "shipped_at": rfc3339(f.shipped_at),
            "delivered_at": rfc3339(f.delivered_at),
        }
        for f in order.fulfillments.filter(shipped_at__isnull=False).order_by("shipped_at")
    ]


class PaymentSessionOutput(serializers.Serializer):
    """The order's payment session while it waits for the customer to confirm with the PSP."""

    provider = serializers.CharField()
    status = serializers.CharField(help_text="`pending` until the PSP settles it.")
    client_secret = serializers.CharField(
        help_text="For the PSP's client library (Stripe.js `confirmCardPayment`)."
    )
    amount = MoneyOutput()
    due_at = serializers.DateTimeField(help_text="The stock is held until then, then released.")


class StoreOrderOutput(serializers.Serializer):
    """Schema of an order as its customer sees it; `order_data` builds it."""

    id = serializers.CharField()
    number = serializers.CharField()
    token = serializers.CharField()
    channel = serializers.CharField()
    status = serializers.CharField()
    payment_status = serializers.CharField()
    fulfillment_status = serializers.CharField()
    email = serializers.CharField()
    phone = serializers.CharField()
    lines = OrderLineOutput(many=True)
    subtotal = MoneyOutput()
    shipping = MoneyOutput()
    discount = MoneyOutput()
    tax = MoneyOutput()
    total = MoneyOutput()
    shipping_address = serializers.DictField(allow_null=True)
    shipping_method = serializers.CharField()
    voucher_code = serializers.CharField()
    timeline = TimelineOutput(many=True)
    tracking = TrackingOutput(many=True)
    payment_session = PaymentSessionOutput(
        allow_null=True, help_text="Set while `status` is `pending_payment`."
    )
    delivery = CustomerDeliveryOutput(
        allow_null=True, help_text="An on-demand delivery: status, courier, arrival, PIN."
    )
    created_at = serializers.DateTimeField()


CUSTOMER_TIMELINE = {
    "delivery_estimate",
    "courier_assigned",
    "delivery_proof",
    "placed",
    "payment_pending",
    "payment_failed",
    "payment_expired",
    "paid",
    "confirmed",
    "cancelled",
    "refunded",
    "packed",
    "shipped",
    "delivered",
    "completed",
    "returned",
}


UNSET: Any = object()


def order_delivery(order: Order) -> Delivery | None:
    """The order's on-demand delivery: known without a query for a new order (checkout
    says), and for an order without a shipping method; else read (one query)."""
    placed = getattr(order, "delivery_placed", UNSET)
    if placed is not UNSET:
        return placed
    if order.shipping_method_id is None:
        return None
    return delivery_for_order(order)


def order_data(
    order: Order, lines=None, events=None, tracking: list | None = None, delivery=UNSET
) -> dict:
    """The order as its customer sees it: what webhooks carry (`order_payload`), plus the
    delivery details, timeline, tracking (`tracking` is read unless given) and the
    on-demand delivery."""
    lines = list(order.lines.all()) if lines is None else lines
    events = list(order.events.all()) if events is None else events
    delivery = order_delivery(order) if delivery is UNSET else delivery
    return {
        **order_payload(order, lines),
        "phone": order.phone,
        "shipping_address": order.shipping_address,
        "shipping_method": order.shipping_method_name,
        "voucher_code": order.voucher_code,
        "timeline": [
            {"type": event.type, "at": rfc3339(event.created_at)}
            for event in events
            if event.type in CUSTOMER_TIMELINE
        ],
        "tracking": tracking_data(order) if tracking is None else tracking,
        "delivery": customer_delivery_data(delivery, str(order.token)),
        "payment_session": payment_session_data(order),
    }


def payment_session_data(order: Order) -> dict | None:
    """What the customer's client needs to confirm the payment, while the order waits for it
    (read only then: no query for any other order)."""
    if order.status != Order.Status.PENDING_PAYMENT:
        return None
    payment = getattr(order, "payment_placed", UNSET)  # a new order's, known to checkout
    if payment is UNSET:
        payment = order.payments.filter(status="pending").order_by("-id").first()
    if payment is None:
        return None
    return {
        "provider": payment.provider,
        "status": payment.status,
        "client_secret": payment.client_secret,
        "amount": money_dict(payment.amount, payment.currency),
        "due_at": rfc3339(order.payment_due_at) if order.payment_due_at else None,
    }
