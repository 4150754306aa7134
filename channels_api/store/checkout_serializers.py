"""Store input shapes for carts and checkout. Prices, totals, status and channel are never read."""

from __future__ import annotations

from django.conf import settings
from rest_framework import serializers

from channels_api.fields import EMAIL_MAX_LENGTH
from orders.services import CartLineInput, CheckoutInput


class OrderLineInput(serializers.Serializer):
    sku = serializers.CharField(max_length=64)
    quantity = serializers.IntegerField(min_value=1, max_value=settings.CART_MAX_QUANTITY)

    def to_line(self) -> CartLineInput:
        return CartLineInput(**self.validated_data)


def to_lines(items: list[dict]) -> list[CartLineInput]:
    return [CartLineInput(sku=item["sku"], quantity=item["quantity"]) for item in items]


class LinesField(serializers.ListField):
    def __init__(self, **kwargs):
        super().__init__(
            child=OrderLineInput(), min_length=1, max_length=settings.CART_MAX_LINES, **kwargs
        )


class PaymentInput(serializers.Serializer):
    """`{"provider": "test", "token": "tok_approve"}`, `{"provider": "manual", ...}`, or
    `{"provider": "stripe", "capture": "automatic"}` (the order waits in `pending_payment`
    for the customer to confirm the PaymentIntent whose `client_secret` it carries)."""

    provider = serializers.ChoiceField(choices=["test", "manual", "stripe"])
    token = serializers.CharField(max_length=100, required=False)
    method = serializers.CharField(max_length=50, required=False)
    reference = serializers.CharField(max_length=200, required=False)
    capture = serializers.ChoiceField(
        choices=["automatic", "manual"],
        required=False,
        help_text="stripe: `manual` only authorizes; staff capture later (all or part).",
    )


class CartCreateInput(serializers.Serializer):
    lines = LinesField()
    email = serializers.EmailField(
        max_length=EMAIL_MAX_LENGTH, required=False, allow_blank=True, default=""
    )
    phone = serializers.CharField(required=False, allow_blank=True, max_length=32, default="")


class CartUpdateInput(serializers.Serializer):
    email = serializers.EmailField(max_length=EMAIL_MAX_LENGTH, required=False, allow_blank=True)
    phone = serializers.CharField(required=False, allow_blank=True, max_length=32)
    shipping_address = serializers.DictField(required=False, allow_null=True)
    shipping_method = serializers.CharField(
        required=False, allow_null=True, allow_blank=True, max_length=50
    )
    voucher_code = serializers.CharField(
        required=False, allow_null=True, allow_blank=True, max_length=50
    )
    delivery_slot = serializers.CharField(
        required=False,
        allow_null=True,
        allow_blank=True,
        max_length=20,
        help_text="An on-demand delivery's slot id (`/store/delivery-options`); null: ASAP.",
    )


class CartLineQuantityInput(serializers.Serializer):
    quantity = serializers.IntegerField(min_value=0, max_value=settings.CART_MAX_QUANTITY)


class CartExtendInput(serializers.Serializer):
    seconds = serializers.IntegerField(min_value=1, max_value=7 * 24 * 3600)


class CartCompleteInput(serializers.Serializer):
    payment = PaymentInput(required=False, allow_null=True)


class CheckoutRequest(serializers.Serializer):
    lines = LinesField()
    email = serializers.EmailField(
        max_length=EMAIL_MAX_LENGTH, required=False, allow_blank=True, default=""
    )
    phone = serializers.CharField(required=False, allow_blank=True, max_length=32, default="")
    shipping_address = serializers.DictField(required=False, allow_null=True, default=None)
    shipping_method = serializers.CharField(
        required=False, allow_null=True, max_length=50, default=None
    )
    voucher_code = serializers.CharField(
        required=False, allow_null=True, allow_blank=True, max_length=50, default=None
    )
    payment = PaymentInput(required=False, allow_null=True, default=None)
    delivery_slot = serializers.CharField(
        required=False,
        allow_null=True,
        max_length=20,
        default=None,
        help_text="With an on-demand shipping method: a slot id; none: as soon as possible.",
    )

    def to_checkout_input(self) -> CheckoutInput:
        data = dict(self.validated_data)
        data["lines"] = to_lines(data["lines"])
        data["payment"] = dict(data["payment"]) if data["payment"] else None
        return CheckoutInput(**data)
