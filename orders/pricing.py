"""Prices and totals, computed only by the server.

The rounding rule (one, everywhere): unit prices are exact in the currency's
minor unit; a line total is unit price x quantity (exact); the percentage
discount and the tax are each rounded once, half-up, to the minor unit
(`backoffice.money.quantize`). Tax applies to the discounted subtotal plus
shipping; when the channel's prices include tax, the tax is the part of the
total that is tax (total x rate / (1 + rate)) and the total is not raised.

Every amount of an order must fit its money column (`totals_check`): a cart or a
checkout whose totals would not is refused when its lines are set, naming them.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from backoffice.exceptions import ValidationFailed
from backoffice.money import AMOUNT_LIMIT, amount_storable, quantize
from catalog.models import Channel, ProductVariant
from catalog.sellable import price_in_channel
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
    unit_price = price_in_channel(variant=variant, channel=channel)
    return PricedLine(
        variant=variant,
        sku=variant.sku,
        name=line_name(variant),
        quantity=quantity,
        unit_price=quantize(unit_price, channel.currency),
        total=quantize(unit_price * quantity, channel.currency),
    )


def price_lines(
    *, channel: Channel, variants: dict[str, ProductVariant], lines: list
) -> list[PricedLine]:
    """Price `{sku, quantity}` lines with the channel's prices (`variants` by SKU)."""
    return [
        price_line(channel=channel, variant=variants[line.sku], quantity=line.quantity)
        for line in lines
    ]


def voucher_discount(*, voucher: Voucher | None, subtotal: Decimal, currency: str) -> Decimal:
    """A percentage of the subtotal rounded to the currency's minor unit, or the fixed amount
    as it is (exact in its currency), never more than the subtotal. A voucher whose money is
    in another currency takes nothing off (checkout refuses it: `voucher_problem`)."""
    if voucher is None or (voucher.currency and voucher.currency != currency):
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


def totals_check(*, lines: list[PricedLine], totals: Totals, field: str = "lines") -> None:
    """Refuse lines and totals that an order could not store (ValidationFailed on `field`).

    Pure arithmetic on what is already priced: no query, so the checkout stays as it was.
    """
    amounts = [line.total for line in lines]
    amounts += [totals.subtotal, totals.shipping, totals.discount, totals.tax, totals.total]
    if not all(amount_storable(amount) for amount in amounts):
        limit = f"{AMOUNT_LIMIT} {totals.currency}"
        raise ValidationFailed({field: [f"Too large: an order's amounts must stay below {limit}."]})


def lines_totals_check(*, channel: Channel, lines: list[PricedLine], field: str = "lines") -> None:
    """`totals_check` for lines alone (a new cart or a shop link: no shipping or voucher yet)."""
    totals = compute_totals(channel=channel, lines=lines, shipping_method=None, voucher=None)
    totals_check(lines=lines, totals=totals, field=field)
