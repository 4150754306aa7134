"""Checks shared by carts and checkout: lines, addresses, shipping methods, vouchers."""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.utils import timezone

from backoffice.exceptions import ValidationFailed
from backoffice.money import money_format
from backoffice.sql import table
from backoffice.versions.current import VersionedCache
from catalog.models import Channel
from orders.delivery import ADDRESS_REQUIRED
from orders.models import ShippingMethod, Voucher

ADDRESS_FIELDS = {
    "name": 200, "line1": 200, "line2": 200, "city": 100, "postal_code": 20,
    "region": 100, "country": 2, "phone": 32,
}  # fmt: skip
# Optional coordinates (WGS 84 degrees) that a storefront sends when it has them: delivery
# zones drawn as a radius need them (no geocoder is assumed; see docs/delivery.md).
COORDINATE_LIMITS = {"latitude": 90, "longitude": 180}
PHONE_PATTERN = re.compile(r"^\+?[0-9 ()./-]{5,32}$")
# Active shipping methods by (channel id, code), per process: a changed price or a method
# switched off changes the "shipping" version, and the next request reads it again.
_SHIPPING_METHODS: VersionedCache[ShippingMethod] = VersionedCache("shipping")


@dataclass(frozen=True)
class LineRequest:
    sku: str
    quantity: int


def _units(count: int) -> str:
    return f"{count} unit" if count == 1 else f"{count} units"


def lines_clean(lines: list[LineRequest], *, field: str = "lines") -> list[LineRequest]:
    """The lines of a cart, an order, a shop link or a till sale, within the limits every
    channel shares; the one home of those limits.

    The same SKU twice is one line with the quantities added, and the limits hold for
    what is merged: at most CART_MAX_LINES SKUs, and 1 to CART_MAX_QUANTITY units of each
    SKU however many lines name it. Each line asks for at least 1 unit.
    """
    if not lines:
        raise ValidationFailed({field: ["Add at least one line."]})
    totals: dict[str, int] = {}
    for line in lines:
        if line.quantity < 1:
            raise ValidationFailed({field: [f"Quantity of {line.sku} must be at least 1."]})
        totals[line.sku] = totals.get(line.sku, 0) + line.quantity
    if len(totals) > settings.CART_MAX_LINES:
        raise ValidationFailed({field: [f"At most {settings.CART_MAX_LINES} different SKUs."]})
    for sku, quantity in totals.items():
        if quantity > settings.CART_MAX_QUANTITY:
            raise ValidationFailed(
                {field: [f"At most {_units(settings.CART_MAX_QUANTITY)} of {sku} (all its lines)."]}
            )
    return [LineRequest(sku=sku, quantity=quantity) for sku, quantity in totals.items()]


def address_clean(address: dict[str, Any] | None, *, field: str) -> dict[str, str] | None:
    """A structured address with an ISO 3166-1 alpha-2 country; unknown keys are refused."""
    if address is None:
        return None
    if not isinstance(address, dict):
        raise ValidationFailed({field: ["Send an object."]})
    errors: dict[str, list[str]] = {}
    for key in address:
        if key not in ADDRESS_FIELDS and key not in COORDINATE_LIMITS:
            errors.setdefault(f"{field}.{key}", []).append("Unknown field.")
    cleaned: dict[str, Any] = {}
    for key, limit in ADDRESS_FIELDS.items():
        value = address.get(key)
        if value is None or value == "":
            if key in ADDRESS_REQUIRED:
                errors.setdefault(f"{field}.{key}", []).append("This field is required.")
            continue
        if not isinstance(value, str) or len(value.strip()) > limit:
            errors.setdefault(f"{field}.{key}", []).append(f"Text of at most {limit} characters.")
            continue
        cleaned[key] = value.strip()
    country = cleaned.get("country", "")
    if country and (len(country) != 2 or not country.isalpha()):
        errors.setdefault(f"{field}.country", []).append("Use an ISO 3166-1 alpha-2 code.")
    if cleaned.get("phone") and not PHONE_PATTERN.match(cleaned["phone"]):
        errors.setdefault(f"{field}.phone", []).append("Not a phone number.")
    coordinates = _coordinates_clean(address, field=field, errors=errors)
    if errors:
        raise ValidationFailed(errors)
    if country:
        cleaned["country"] = country.upper()
    cleaned.update(coordinates)
    return cleaned


def _coordinates_clean(address: dict, *, field: str, errors: dict) -> dict[str, float]:
    """`latitude` and `longitude` together or not at all: numbers in degrees, 6 decimals."""
    given = {key: address.get(key) for key in COORDINATE_LIMITS if address.get(key) is not None}
    if not given:
        return {}
    cleaned: dict[str, float] = {}
    for key, limit in COORDINATE_LIMITS.items():
        value = given.get(key)
        if value is None:
            errors.setdefault(f"{field}.{key}", []).append("Send latitude and longitude together.")
            continue
        try:
            number = float(value) if not isinstance(value, bool) else None
        except (TypeError, ValueError):
            number = None
        if number is None or not -limit <= number <= limit:
            errors.setdefault(f"{field}.{key}", []).append(f"Degrees from -{limit} to {limit}.")
            continue
        cleaned[key] = round(number, 6)
    return cleaned


def phone_clean(phone: str | None) -> str:
    if not phone:
        return ""
    if not PHONE_PATTERN.match(phone):
        raise ValidationFailed({"phone": ["Not a phone number."]})
    return phone.strip()


def shipping_method_find(*, channel: Channel, code: str | None) -> ShippingMethod | None:
    """The channel's active shipping method of this code (a copy of the process's cached one:
    no statement while the "shipping" version stands still), or None without a code."""
    if not code:
        return None
    method = _SHIPPING_METHODS.get(
        (channel.pk, code), lambda: _shipping_method_read(channel_id=channel.pk, code=code)
    )
    if method is None:
        raise ValidationFailed({"shipping_method": [f"No shipping method '{code}' here."]})
    return copy.copy(method)


def _shipping_method_read(*, channel_id: int, code: str) -> ShippingMethod | None:
    # Written out: every checkout asks this (docs/performance.md).
    methods = ShippingMethod.objects.raw(
        f"SELECT * FROM {table(ShippingMethod)} "  # noqa: S608 - table name only
        "WHERE channel_id = %s AND code = %s AND active = %s",
        [channel_id, code, True],
    )
    return next(iter(methods), None)


def voucher_find(*, channel: Channel, code: str | None, subtotal: Decimal) -> Voucher | None:
    """The voucher for a code, if it applies now in this channel to this subtotal."""
    if not code:
        return None
    voucher = Voucher.objects.filter(code__iexact=code.strip()).prefetch_related("channels").first()
    problem = voucher_problem(voucher=voucher, channel=channel, subtotal=subtotal)
    if problem:
        raise ValidationFailed({"voucher_code": [problem]})
    return voucher


def voucher_problem(*, voucher: Voucher | None, channel: Channel, subtotal: Decimal) -> str:
    """Why a voucher does not apply, or "" when it does."""
    now = timezone.now()
    if voucher is None or not voucher.active:
        return "This voucher code is not valid."
    if (voucher.starts_at and now < voucher.starts_at) or (
        voucher.ends_at and now >= voucher.ends_at
    ):
        return "This voucher is not valid at this time."
    channel_ids = {c.pk for c in voucher.channels.all()}
    if channel_ids and channel.pk not in channel_ids:
        return "This voucher is not valid in this channel."
    if voucher.currency and voucher.currency != channel.currency:
        return f"This voucher is for orders in {voucher.currency}."
    if voucher.usage_limit is not None and voucher.used_count >= voucher.usage_limit:
        return "This voucher has been used up."
    if voucher.min_subtotal is not None and subtotal < voucher.min_subtotal:
        minimum = money_format(voucher.min_subtotal, voucher.currency)
        return f"This voucher needs a subtotal of at least {minimum}."
    return ""
