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
    cart_complete,
    checkout_direct,
)
from orders.services.lifecycle import (
    CancelEffects,
    order_address_update,
    order_cancel,
    order_cancel_effects,
    order_capture,
    order_complete,
    order_note_add,
    order_refund,
    order_refundable_amount,
    orders_cancel_stale_unpaid,
)

__all__ = [
    "CancelEffects",
    "CartLineInput",
    "CheckoutInput",
    "PlacedOrder",
    "cart_complete",
    "cart_create",
    "cart_extend",
    "cart_line_add",
    "cart_line_remove",
    "cart_line_update",
    "cart_release",
    "cart_totals",
    "cart_update",
    "checkout_direct",
    "order_address_update",
    "order_cancel",
    "order_cancel_effects",
    "order_capture",
    "order_complete",
    "order_note_add",
    "order_refund",
    "order_refundable_amount",
    "orders_cancel_stale_unpaid",
    "payment_confirm",
    "payment_webhook_receive",
    "payments_reconcile",
]
