"""Orders models, one module per area; every model is importable from `orders.models`."""

from orders.models.checkout import Cart, CartLine, ShippingMethod, Voucher
from orders.models.courier_access import FulfillerAccess
from orders.models.links import ShopLink, ShopLinkClick, ShopLinkLine, link_code_new
from orders.models.messages import OrderMessage
from orders.models.orders import (
    ORDER_NUMBER_OFFSET,
    ORDER_TRANSITIONS,
    Order,
    OrderEvent,
    OrderLine,
    Payment,
)
from orders.models.payments import PaymentEvent, PaymentOperation
from orders.models.reports import SalesReport

__all__ = [
    "ORDER_NUMBER_OFFSET",
    "ORDER_TRANSITIONS",
    "Cart",
    "CartLine",
    "FulfillerAccess",
    "Order",
    "OrderEvent",
    "OrderLine",
    "OrderMessage",
    "Payment",
    "PaymentEvent",
    "PaymentOperation",
    "SalesReport",
    "ShippingMethod",
    "ShopLink",
    "ShopLinkClick",
    "ShopLinkLine",
    "Voucher",
    "link_code_new",
]
