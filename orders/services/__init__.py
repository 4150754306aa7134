"""Orders workflows: carts, checkout, and the order lifecycle (re-exported here)."""

from orders.payments.settlement import (
    payment_confirm,
    payment_webhook_receive,
    payments_reconcile,
)
from orders.services.carts import (
    CartLineInput,
    cart_create,
    cart_extend,
    cart_line_add,
    cart_line_remove,
    cart_line_update,
    cart_release,
    cart_totals,
    cart_update,
)
from orders.services.checkout import (
    CheckoutInput,
    PlacedOrder,
    PreparedCheckout,
    cart_complete,
    cart_place,
    cart_prepare,
    checkout_direct,
    checkout_place,
    checkout_prepare,
)
from orders.services.lifecycle import (
    order_cancel,
    order_capture,
    order_complete,
    order_note_add,
    order_refund,
    orders_cancel_stale_unpaid,
)

__all__ = [
    "CartLineInput",
    "CheckoutInput",
    "PlacedOrder",
    "PreparedCheckout",
    "cart_complete",
    "cart_create",
    "cart_extend",
    "cart_line_add",
    "cart_line_remove",
    "cart_line_update",
    "cart_place",
    "cart_prepare",
    "cart_release",
    "cart_totals",
    "cart_update",
    "checkout_direct",
    "checkout_place",
    "checkout_prepare",
    "order_cancel",
    "order_capture",
    "order_complete",
    "order_note_add",
    "order_refund",
    "orders_cancel_stale_unpaid",
    "payment_confirm",
    "payment_webhook_receive",
    "payments_reconcile",
]
