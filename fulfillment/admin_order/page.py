"""The order page: lines, totals, payments, shipments, returns, timeline, messages and address."""

from __future__ import annotations

from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.http import urlencode

from backoffice.admin_pages import changelist_crumb
from backoffice.admin_scope import viewer_scope
from backoffice.money import money_format
from backoffice.scopes import scope_filter
from fulfillment.admin_order.common import ADDRESS_NAMES, order_url
from fulfillment.admin_order.tasks import NoteForm, ReplyForm
from fulfillment.models import Fulfillment
from fulfillment.selectors import order_open_units
from orders import services
from orders.admin_timeline import event_summary
from orders.delivery import order_shipping_problem
from orders.models import ORDER_TRANSITIONS, Order
from orders.services.validation import ADDRESS_FIELDS


def order_page(model_admin, request, order: Order) -> TemplateResponse:
    """The order as one page, with the buttons the viewer's role and the order's state allow."""
    money = lambda amount: money_format(amount, order.currency)  # noqa: E731
    lines = list(order.lines.all())
    fulfillments = _fulfillments(request, order)
    allowed = ORDER_TRANSITIONS[order.status]
    user = request.user
    thread = list(order.messages.order_by("id"))
    context = {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.opts,
        "title": f"Order #{order.number}",
        "order": order,
        "original": order,
        "breadcrumbs": [changelist_crumb(model_admin)],
        "lines": [
            {
                "line": line,
                "unit_price": money(line.unit_price),
                "total": money(line.total),
            }
            for line in lines
        ],
        "totals": [
            ("Subtotal", money(order.subtotal)),
            *([("Discount", f"-{money(order.discount)}")] if order.discount else []),
            ("Shipping", money(order.shipping)),
            (f"Tax{' (included)' if order.prices_include_tax else ''}", money(order.tax)),
            ("Total", money(order.total)),
        ],
        "payments": [
            {
                "payment": payment,
                "amount": money(payment.amount),
                "captured": money(payment.captured_amount),
                "refunded": money(payment.refunded_amount),
                # What the PSP said (webhooks, confirms, reconciliation) and was asked.
                "events": list(payment.events.all()),
                "operations": [
                    {"operation": operation, "amount": money(operation.amount)}
                    for operation in payment.operations.all()
                ],
            }
            for payment in order.payments.prefetch_related("events", "operations")
        ],
        "refundable": money(services.order_refundable_amount(order=order)),
        "fulfillments": fulfillments,
        "returns": list(order.returns.prefetch_related("lines__order_line")),
        "timeline": [
            {"event": event, "summary": event_summary(event, order.currency)}
            for event in order.events.order_by("created_at", "id")
        ],
        "thread": thread,
        "shipping_problem": order_shipping_problem(order)
        if order.fulfillment_status == Order.FulfillmentStatus.UNFULFILLED
        and order.status != Order.Status.CANCELLED
        else "",
        "address": [
            (ADDRESS_NAMES[key], (order.shipping_address or {}).get(key, ""))
            for key in ADDRESS_FIELDS
            if (order.shipping_address or {}).get(key)
        ],
        "can": {
            "capture": "capture" in allowed
            and order.payment_status in (Order.PaymentStatus.UNPAID, Order.PaymentStatus.AUTHORIZED)
            and user.has_perm("orders.capture_order"),
            "refund": "refund" in allowed
            and services.order_refundable_amount(order=order) > 0
            and user.has_perm("orders.refund_order"),
            "cancel": "cancel" in allowed
            and order.fulfillment_status == Order.FulfillmentStatus.UNFULFILLED
            and user.has_perm("orders.cancel_order"),
            "fulfill": "fulfill" in allowed
            and any(units > 0 for units in order_open_units(order=order).values())
            and user.has_perm("orders.fulfill_order"),
            "address": order.status in (Order.Status.PENDING, Order.Status.CONFIRMED)
            and order.fulfillment_status == Order.FulfillmentStatus.UNFULFILLED
            and user.has_perm("orders.change_order"),
            "reply": user.has_perm("orders.add_ordermessage"),
            "note": user.has_perm("orders.change_order"),
            "ship": user.has_perm("fulfillment.change_fulfillment"),
        },
        "reply_form": ReplyForm(),
        "note_form": NoteForm(),
    }
    return TemplateResponse(request, "admin/orders/order/detail.html", context)


def _fulfillments(request, order: Order) -> list[dict]:
    visible = scope_filter(order.fulfillments.all(), viewer_scope(request))
    rows = []
    for fulfillment in visible.select_related("warehouse").prefetch_related("lines__order_line"):
        rows.append(
            {
                "fulfillment": fulfillment,
                "url": reverse("admin:fulfillment_fulfillment_change", args=[fulfillment.pk]),
                "ship_url": reverse("admin:fulfillment_fulfillment_ship", args=[fulfillment.pk])
                + f"?{urlencode({'next': order_url(order)})}",
                "can_pack": fulfillment.status == Fulfillment.Status.PENDING,
                "can_ship": fulfillment.status
                in (Fulfillment.Status.PENDING, Fulfillment.Status.PACKED),
                "can_deliver": fulfillment.status == Fulfillment.Status.SHIPPED,
            }
        )
    return rows
