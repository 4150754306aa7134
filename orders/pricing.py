"""Prices and totals, computed only by the server.

The rounding rule (one, everywhere): unit prices are exact in the currency's
minor unit; a line total is unit price x quantity (exact); the percentage
discount and the tax are each rounded once, half-up, to the minor unit
(`backoffice.money.quantize`). Tax applies to the discounted subtotal plus
shipping; when the channel's prices include tax, the tax is the part of the
total that is tax (total x rate / (1 + rate)) and the total is not raised.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from backoffice.money import quantize
from catalog.models import Channel, ProductVariant
from catalog.selectors import variant_price_in_channel
from orders.models import ShippingMethod, Voucher

ZERO = Decimal(0)


@dataclass(frozen=True)
class PricedLine:
    variant: ProductVariant
    sku: str
    name: str
    quantity: int
    unit_price: Decimal
    total: Decimal


@dataclass(frozen=True)
class Totals:
    currency: str
    subtotal: Decimal
    shipping: Decimal
    discount: Decimal
    tax: Decimal
    total: Decimal


def line_name(variant: ProductVariant) -> str:
    product_name = variant.product.name
    if variant.name and variant.name != product_name:
        return f"{product_name} ({variant.name})"
    return product_name


def price_line(*, channel: Channel, variant: ProductVariant, quantity: int) -> PricedLine:
    unit_price = variant_price_in_channel(variant=variant, channel=channel)
    return PricedLine(
        variant=variant,
        sku=variant.sku,
        name=line_name(variant),
        quantity=quantity,
        unit_price=quantize(unit_price, channel.currency),
        total=quantize(unit_price * quantity, channel.currency),
    )


def voucher_discount(*, voucher: Voucher | None, subtotal: Decimal, currency: str) -> Decimal:
    if voucher is None:
        return ZERO
    if voucher.kind == Voucher.Kind.PERCENTAGE:
        return min(subtotal, quantize(subtotal * voucher.value / 100, currency))
    return min(subtotal, quantize(voucher.value, currency))


def shipping_price(
    *,
    method: ShippingMethod | None,
    subtotal: Decimal,
    currency: str,
    delivery_fee: Decimal | None = None,
) -> Decimal:
    """Flat rate, free once the (discounted) subtotal reaches `free_over`; pickup is free.

    On-demand delivery charges the fee its zone quoted (`delivery_fee`, already free over
    the zone's threshold) instead of the method's own price.
    """
    if method is None or method.kind == ShippingMethod.Kind.PICKUP:
        return ZERO
    if delivery_fee is not None:
        return quantize(delivery_fee, currency)
    if method.free_over is not None and subtotal >= method.free_over:
        return ZERO
    return quantize(method.price, currency)


def compute_totals(
    *,
    channel: Channel,
    lines: list[PricedLine],
    shipping_method: ShippingMethod | None,
    voucher: Voucher | None,
    delivery_fee: Decimal | None = None,
) -> Totals:
    currency = channel.currency
    subtotal = sum((line.total for line in lines), ZERO)
    discount = voucher_discount(voucher=voucher, subtotal=subtotal, currency=currency)
    shipping = shipping_price(
        method=shipping_method,
        subtotal=subtotal - discount,
        currency=currency,
        delivery_fee=delivery_fee,
    )
    taxable = subtotal - discount + shipping
    rate = channel.tax_rate
    if channel.prices_include_tax:
        tax = quantize(taxable * rate / (1 + rate), currency)
        total = taxable
    else:
        tax = quantize(taxable * rate, currency)
        total = taxable + tax
    return Totals(
        currency=currency,
        subtotal=quantize(subtotal, currency),
        shipping=shipping,
        discount=discount,
        tax=tax,
        total=quantize(total, currency),
    )
