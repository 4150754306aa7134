"""Whether an order ships goods, and whether it can be shipped: the one home of that rule.

An order ships goods unless its shipping method says otherwise: a pickup method
(collected at a store) or a digital delivery (nothing to ship). An order with no
shipping method still ships goods: the merchant sends them by its own means, at no
shipping charge, which is what a chatbot or a link checkout that gives only an
address asks for. The one exception is a point-of-sale channel, whose orders
without a method are handed over at the till.

An order that ships goods needs a complete shipping address. Checkout refuses one
without it (400 naming `shipping_address`); fulfillment neither plans nor ships a
paid order without it (`fulfillment.errors.OrderNotShippable`), so that staff can
fix the address first.
"""

from __future__ import annotations

from catalog.models import Channel
from orders.models import Order, ShippingMethod

# What a shipping address must have (`orders.services.validation.address_clean` checks input).
ADDRESS_REQUIRED = ("name", "line1", "city", "postal_code", "country")
NOTHING_TO_SHIP = (ShippingMethod.Kind.PICKUP, ShippingMethod.Kind.DIGITAL)


def ships_goods(*, channel: Channel, method: ShippingMethod | None) -> bool:
    """Whether goods travel to the customer's address."""
    if method is None:
        return channel.kind != Channel.Kind.POS
    return method.kind not in NOTHING_TO_SHIP


def address_missing(address: dict | None) -> list[str]:
    """The required address fields that are absent or empty (all of them without one)."""
    address = address if isinstance(address, dict) else {}
    return [
        key
        for key in ADDRESS_REQUIRED
        if not isinstance(address.get(key), str) or not address[key].strip()
    ]


def shipping_problem(
    *, channel: Channel, method: ShippingMethod | None, address: dict | None
) -> str:
    """Why goods cannot be shipped to `address`, or "" when they can (or none ship)."""
    if not ships_goods(channel=channel, method=method):
        return ""
    missing = address_missing(address)
    if not missing:
        return ""
    how = f"shipped ({method.name})" if method is not None else "shipped to the customer"
    if len(missing) == len(ADDRESS_REQUIRED):
        return f"The order is {how}: it needs a shipping address."
    return f"The order is {how}: its shipping address has no {', '.join(missing)}."


def order_shipping_problem(order: Order) -> str:
    """`shipping_problem` for a placed order (its channel and shipping method as loaded)."""
    return shipping_problem(
        channel=order.channel, method=order.shipping_method, address=order.shipping_address
    )
