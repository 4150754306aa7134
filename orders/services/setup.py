"""Checkout set-up by staff: vouchers and shipping methods."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, transaction

from backoffice.exceptions import ValidationFailed
from backoffice.money import parse_amount
from catalog.models import Channel
from inventory.codes import code_is
from inventory.models import Warehouse
from orders.models import ShippingMethod, Voucher


def _kind(kind: str, choices: type[Voucher.Kind] | type[ShippingMethod.Kind]) -> str:
    if kind not in choices.values:
        raise ValidationFailed({"kind": [f"Use one of: {', '.join(choices.values)}."]})
    return kind


def _amount(value: object, currency: str, field: str) -> Decimal:
    try:
        return parse_amount(value, currency)
    except ValueError as error:
        raise ValidationFailed({field: [str(error)]}) from error


def voucher_create(
    *,
    code: str,
    kind: str,
    value: object,
    min_subtotal: object = None,
    starts_at: datetime | None = None,
    ends_at: datetime | None = None,
    channels: Iterable[Channel] = (),
    usage_limit: int | None = None,
    active: bool = True,
) -> Voucher:
    """Create a voucher. A percentage is 0 to 100; amounts use the default currency's precision.

    Raises ValidationFailed for an unknown kind, a bad amount or window, or a code in use
    (also when a concurrent create took it first).
    """
    currency = settings.DEFAULT_CURRENCY
    kind = _kind(kind, Voucher.Kind)
    amount = _amount(value, currency, "value")
    if kind == Voucher.Kind.PERCENTAGE and amount > 100:
        raise ValidationFailed({"value": ["A percentage is at most 100."]})
    if starts_at and ends_at and ends_at <= starts_at:
        raise ValidationFailed({"ends_at": ["Must be after starts_at."]})
    taken = ValidationFailed({"code": [f"A voucher '{code}' exists."]})
    if Voucher.objects.filter(code__iexact=code).exists():
        raise taken
    try:
        with transaction.atomic():
            voucher = Voucher.objects.create(
                code=code,
                kind=kind,
                value=amount,
                min_subtotal=None
                if min_subtotal is None
                else _amount(min_subtotal, currency, "min_subtotal"),
                starts_at=starts_at,
                ends_at=ends_at,
                usage_limit=usage_limit,
                active=active,
            )
            voucher.channels.set(list(channels))
    except IntegrityError as error:  # the same code, created meanwhile
        raise taken from error
    return voucher


def shipping_method_create(
    *,
    channel: Channel,
    code: str,
    name: str,
    kind: str = ShippingMethod.Kind.FLAT_RATE,
    price: object = "0",
    free_over: object = None,
    pickup_warehouse: str | None = None,
    active: bool = True,
) -> ShippingMethod:
    """A flat rate (free over a threshold) or pickup at a store that serves the channel.

    Raises ValidationFailed for an unknown kind, a bad amount, a pickup store that does not
    serve the channel, or a code in use there (also when a concurrent create took it first).
    """
    kind = _kind(kind, ShippingMethod.Kind)
    taken = ValidationFailed({"code": [f"'{code}' exists in {channel.code}."]})
    if ShippingMethod.objects.filter(channel=channel, code=code).exists():
        raise taken
    warehouse = None
    if kind == ShippingMethod.Kind.PICKUP:
        warehouse = Warehouse.objects.filter(
            code_is(pickup_warehouse or ""), channels=channel
        ).first()
        if warehouse is None:
            raise ValidationFailed(
                {"pickup_warehouse": ["Pickup needs a warehouse that serves this channel."]}
            )
    price = _amount(price, channel.currency, "price")
    free_over = None if free_over is None else _amount(free_over, channel.currency, "free_over")
    try:
        with transaction.atomic():
            return ShippingMethod.objects.create(
                channel=channel,
                code=code,
                name=name,
                kind=kind,
                price=price,
                free_over=free_over,
                pickup_warehouse=warehouse,
                active=active,
            )
    except IntegrityError as error:  # the same code, created meanwhile
        raise taken from error
