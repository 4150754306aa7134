"""Store input shapes for carts and checkout. Prices, totals, status and channel are never read."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
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


# --- The checkout's body without the serializer, when it is plainly valid ---------------
# A one-shot checkout's body built the serializer's fields every time: 0.3 ms of CPU, about
# 6 % of a checkout (docs/performance.md, "Round six"). `checkout_input_plain` accepts the
# plain shape that clients send (JSON strings and integers, no surprises) and builds the
# same `CheckoutInput` that `CheckoutRequest` would; anything else, valid or not, returns
# None and goes through `CheckoutRequest`, so every refusal and every unusual but valid body
# (a quantity as a string, non-ASCII text, extra keys) is judged by the serializer as before.
# `tests/channels_api/test_checkout_input_plain.py` checks both give the same result.
# Each field's limits (length, blank, null, choices, range) are read from the serializers'
# own declared fields, so the two readings cannot drift apart.
_CHECKOUT = CheckoutRequest._declared_fields
_LINE = OrderLineInput._declared_fields
_PAYMENT = PaymentInput._declared_fields
_PAYMENT_TEXTS = ("token", "method", "reference")
_PAYMENT_CHOICES = ("provider", "capture")


class _Fallback(Exception):
    """Not plainly valid: let the serializer judge it."""


def _text(value: Any, field: serializers.CharField) -> str | None:
    """`field` (a `CharField`, whitespace trimmed) for a plain ASCII string, or None where
    the field allows null."""
    if value is None and field.allow_null:
        return None
    if type(value) is not str or not value.isascii() or "\x00" in value:
        raise _Fallback
    value = value.strip()
    if (not value and not field.allow_blank) or len(value) > field.max_length:
        raise _Fallback
    return value


def _line(item: Any) -> CartLineInput:
    if type(item) is not dict or item.keys() != {"sku", "quantity"}:
        raise _Fallback
    quantity, limits = item["quantity"], _LINE["quantity"]
    if type(quantity) is not int or not limits.min_value <= quantity <= limits.max_value:
        raise _Fallback
    return CartLineInput(sku=_text(item["sku"], _LINE["sku"]), quantity=quantity)


def _payment(value: Any) -> dict | None:
    if value is None:
        return None
    if type(value) is not dict or not value.keys() <= {*_PAYMENT_TEXTS, *_PAYMENT_CHOICES}:
        raise _Fallback
    payment = {}
    for name in _PAYMENT_CHOICES:
        if name in value:
            if type(value[name]) is not str or value[name] not in _PAYMENT[name].choices:
                raise _Fallback
            payment[name] = value[name]
    if "provider" not in payment:
        raise _Fallback
    for name in _PAYMENT_TEXTS:
        if name in value:
            payment[name] = _text(value[name], _PAYMENT[name])
    return payment


def checkout_input_plain(data: Any) -> CheckoutInput | None:
    """`CheckoutRequest(data=data)`'s `to_checkout_input()` for a plainly valid body; None for
    any other body (the caller then validates it with `CheckoutRequest`)."""
    try:
        if type(data) is not dict or not data.keys() <= _CHECKOUT.keys():
            raise _Fallback
        lines, limits = data.get("lines"), _CHECKOUT["lines"]
        if type(lines) is not list or not limits.min_length <= len(lines) <= limits.max_length:
            raise _Fallback
        email = _text(data.get("email", ""), _CHECKOUT["email"])
        if email:
            validate_email(email)
        address = data.get("shipping_address")
        if address is not None and type(address) is not dict:
            raise _Fallback
        return CheckoutInput(
            lines=[_line(item) for item in lines],
            email=email,
            phone=_text(data.get("phone", ""), _CHECKOUT["phone"]),
            shipping_address=None if address is None else {str(k): v for k, v in address.items()},
            shipping_method=_text(data.get("shipping_method"), _CHECKOUT["shipping_method"]),
            voucher_code=_text(data.get("voucher_code"), _CHECKOUT["voucher_code"]),
            payment=_payment(data.get("payment")),
            delivery_slot=_text(data.get("delivery_slot"), _CHECKOUT["delivery_slot"]),
        )
    except (_Fallback, ValidationError):
        return None
