"""Orders models, one module per area; every model is importable from `orders.models`."""

from orders.models.channels import (
    FulfillerAccess,
    OrderMessage,
    SalesReport,
    ShopLink,
    ShopLinkClick,
    ShopLinkLine,
    link_code_new,
)
from orders.models.checkout import Cart, CartLine, ShippingMethod, Voucher
from orders.models.orders import (
    ORDER_NUMBER_OFFSET,
    ORDER_TRANSITIONS,
    Order,
    OrderEvent,
    OrderLine,
    Payment,
)
from orders.models.payments import PaymentEvent, PaymentOperation

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
