"""The order page of the Django admin: everything a support agent works from, and its tasks.

It lives in `fulfillment` (not `orders`) because it shows and starts shipments too: this
is the first app that knows both (`fulfillment.admin` registers it for Order).

The page shows lines, totals, payments, shipments, returns, the timeline and the message
thread, with the delivery address as fields. Each task (capture, refund by amount or by
lines with restock, cancel with its consequences spelled out first, plan a shipment,
change the address, reply, note) is a small form that calls the same service as the API.
"""

from fulfillment.admin_order.common import ADDRESS_NAMES
from fulfillment.admin_order.money import cancel_view, capture_view, refund_view
from fulfillment.admin_order.page import order_page
from fulfillment.admin_order.tasks import address_view, fulfill_view, note_view, reply_view

__all__ = [
    "ADDRESS_NAMES",
    "address_view",
    "cancel_view",
    "capture_view",
    "fulfill_view",
    "note_view",
    "order_page",
    "refund_view",
    "reply_view",
]
