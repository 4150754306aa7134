"""The order page of the Django admin: everything a support agent works from, and its tasks.

It lives in `fulfillment` (not `orders`) because it shows and starts shipments too: this
is the first app that knows both (`fulfillment.admin` registers it for Order).

The page shows lines, totals, payments, shipments, returns, the timeline and the message
thread, with the delivery address as fields. Each task (capture, refund by amount or by
lines with restock, cancel with its consequences spelled out first, plan a shipment,
change the address, reply, note) is a small form that calls the same service as the API.
"""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.http import urlencode

from backoffice.admin_pages import changelist_crumb, object_crumb, staff_actor, task_page
from backoffice.admin_scope import viewer_scope
from backoffice.exceptions import DomainError, ValidationFailed
from backoffice.money import money_format, parse_amount
from backoffice.scopes import scope_filter
from backoffice.staff_policy import refund_check
from fulfillment.models import Fulfillment
from fulfillment.returns import return_create, return_refund_amount
from fulfillment.selectors import order_open_units
from fulfillment.services import (
    fulfillment_create,
    order_cancel_with_shipments,
    order_payment_capture,
)
from inventory.models import Warehouse
from orders import services
from orders.admin_timeline import event_summary
from orders.delivery import order_shipping_problem
from orders.messages import message_post
from orders.models import ORDER_TRANSITIONS, Order, OrderMessage
from orders.payments import ManualProvider
from orders.services.validation import ADDRESS_FIELDS, LineRequest

# How the address reads on a page (the form asks for it at more length).
ADDRESS_NAMES = {
    "name": "Name",
    "line1": "Address",
    "line2": "Address line 2",
    "city": "City",
    "postal_code": "Postal code",
    "region": "Region",
    "country": "Country",
    "phone": "Phone",
}
ADDRESS_LABELS = {
    "name": "Name",
    "line1": "Address",
    "line2": "Address, second line",
    "city": "City",
    "postal_code": "Postal code",
    "region": "Region or state",
    "country": "Country (two letters, e.g. US)",
    "phone": "Phone",
}


def order_url(order: Order) -> str:
    return reverse("admin:orders_order_change", args=[order.pk])


def _require(request, permission: str) -> None:
    if not request.user.has_perm(permission):
        raise PermissionDenied


def _task(model_admin, request, order: Order, **page):
    """A task of this order: back to the order page when done (or via "Back")."""
    return task_page(
        request,
        model_admin,
        done_url=order_url(order),
        breadcrumbs=[changelist_crumb(model_admin), object_crumb(order)],
        back_url=order_url(order),
        **page,
    )


# --- The page ------------------------------------------------------------------------


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
            }
            for payment in order.payments.all()
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


# --- Capture -------------------------------------------------------------------------


class CaptureForm(forms.Form):
    method = forms.ChoiceField(
        label="How the money was taken",
        choices=[(m, m.replace("_", " ").capitalize()) for m in sorted(ManualProvider.METHODS)],
        initial="cash",
    )
    reference = forms.CharField(
        max_length=200, required=False, help_text="A receipt or transfer number, if any."
    )


def capture_view(model_admin, request, order: Order):
    _require(request, "orders.capture_order")
    authorized = order.payments.filter(status="authorized").exists()
    form = CaptureForm(request.POST or None)
    if authorized:
        form.fields.pop("method")
        form.fields.pop("reference")
    total = money_format(order.total, order.currency)

    def act(data: dict) -> str:
        order_payment_capture(order=order, actor=staff_actor(request), **data)
        return f"Captured {total}."

    what = (
        "The card authorization is captured: the customer is charged"
        if authorized
        else "A payment taken outside Backoffice (cash, card terminal, transfer) is recorded"
    )
    return _task(
        model_admin,
        request,
        order,
        form=form,
        act=act,
        title=f"Capture payment of order #{order.number}",
        submit_label="Capture",
        consequences=[f"{what}: {total}."],
    )


# --- Refund --------------------------------------------------------------------------


class RefundForm(forms.Form):
    MODES = [
        ("amount", "An amount of money"),
        ("lines", "Units the customer sent back (a return)"),
    ]

    mode = forms.ChoiceField(
        label="What to refund", choices=MODES, initial="amount", widget=forms.RadioSelect
    )
    amount = forms.CharField(
        max_length=20,
        required=False,
        help_text="Leave empty to refund everything still refundable.",
    )
    reason = forms.CharField(max_length=500, help_text="Kept on the timeline.")
    restock = forms.BooleanField(
        required=False,
        initial=True,
        label="Put returned units back in stock",
        help_text="Into the warehouse that shipped them.",
    )

    def __init__(self, *args, order: Order, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.order = order
        self.fields["amount"].label = f"Amount ({order.currency})"
        self.line_fields = []
        for line in order.lines.all():
            returnable = line.quantity_fulfilled - line.quantity_returned
            if returnable <= 0:
                continue
            name = f"line_{line.pk}"
            self.fields[name] = forms.IntegerField(
                label=f"Units of {line.sku} ({line.name}) back",
                min_value=0,
                max_value=returnable,
                initial=0,
                required=False,
                help_text=f"{returnable} shipped and not yet returned, "
                f"{money_format(line.unit_price, order.currency)} each.",
            )
            self.line_fields.append((name, line))

    def clean(self):
        data = super().clean()
        if data.get("mode") == "lines":
            lines = [
                LineRequest(sku=line.sku, quantity=data.get(name) or 0)
                for name, line in self.line_fields
                if data.get(name)
            ]
            if not lines:
                raise forms.ValidationError(
                    "Say how many units came back."
                    if self.line_fields
                    else "Nothing has shipped yet: refund an amount, or cancel the order."
                )
            data["lines"] = lines
        elif data.get("amount"):
            try:
                data["amount_value"] = parse_amount(data["amount"], self.order.currency)
            except ValueError as error:
                self.add_error("amount", str(error))
        return data


def refund_view(model_admin, request, order: Order):
    _require(request, "orders.refund_order")
    refundable = services.order_refundable_amount(order=order)

    def act(data: dict) -> str:
        actor = staff_actor(request)
        if data["mode"] == "lines":
            amount = return_refund_amount(order=order, lines=data["lines"])
            refund_check(user=request.user, currency=order.currency, amount=amount)
            record = return_create(
                order=order,
                lines=data["lines"],
                reason=data["reason"],
                restock=data["restock"],
                refund=True,
                actor=actor,
            )
            refunded = money_format(record.refund_amount, order.currency)
            restocked = ", units back in stock." if data["restock"] else "."
            return f"Return recorded; refunded {refunded}{restocked}"
        amount = data.get("amount_value") or refundable
        refund_check(user=request.user, currency=order.currency, amount=amount)
        services.order_refund(
            order=order, actor=actor, amount=data.get("amount") or None, reason=data["reason"]
        )
        return f"Refunded {money_format(amount, order.currency)}."

    return _task(
        model_admin,
        request,
        order,
        form=RefundForm(request.POST or None, order=order),
        act=act,
        title=f"Refund order #{order.number}",
        submit_label="Refund",
        danger=True,
        facts=[
            ("Paid", money_format(order.total, order.currency)),
            ("Still refundable", money_format(refundable, order.currency)),
        ],
    )


# --- Cancel --------------------------------------------------------------------------


class CancelForm(forms.Form):
    reason = forms.CharField(
        max_length=500, required=False, help_text="Why, for the timeline (e.g. 'customer asked')."
    )


def cancel_consequences(order: Order, request) -> tuple[list[str], Decimal]:
    """What cancelling will do, in words, and the money it gives back."""
    effects = services.order_cancel_effects(order=order)
    money = lambda amount: money_format(amount, effects.currency)  # noqa: E731
    lines = [
        f"Stock: {units} x {sku} released in {warehouse}, available to sell again."
        for sku, warehouse, units in effects.released
    ] or ["Stock: nothing is held for this order."]
    refunded = sum((amount for _, amount in effects.refunded), Decimal(0))
    lines += [
        f"Money: {money(amount)} refunded to the {payment.provider} payment"
        f" ({payment.method or 'card'})."
        for payment, amount in effects.refunded
    ]
    lines += [
        f"Money: the {payment.provider} authorization of {money(amount)} is voided;"
        " nothing was taken."
        for payment, amount in effects.voided
    ]
    if not effects.refunded and not effects.voided:
        lines.append("Money: nothing was paid, nothing to give back.")
    open_shipments = order.fulfillments.filter(
        status__in=[Fulfillment.Status.PENDING, Fulfillment.Status.PACKED]
    ).count()
    if open_shipments:
        lines.append(
            f"Shipments: {open_shipments} planned shipment(s) cancelled before they leave."
        )
    if effects.voucher_code:
        lines.append(f"Voucher {effects.voucher_code}: its use is given back.")
    lines.append("The customer's order shows it as cancelled.")
    return lines, refunded


def cancel_view(model_admin, request, order: Order):
    _require(request, "orders.cancel_order")
    try:
        consequences, refunded = cancel_consequences(order, request)
    except DomainError as error:
        model_admin.message_user(
            request, f"This order cannot be cancelled: {error.detail}", messages.ERROR
        )
        return redirect(order_url(order))

    def act(data: dict) -> str:
        if refunded:
            refund_check(user=request.user, currency=order.currency, amount=refunded)
        order_cancel_with_shipments(order=order, actor=staff_actor(request), reason=data["reason"])
        return f"Order #{order.number} cancelled."

    return _task(
        model_admin,
        request,
        order,
        form=CancelForm(request.POST or None),
        act=act,
        title=f"Cancel order #{order.number}?",
        submit_label="Yes, cancel the order",
        danger=True,
        consequences=consequences,
    )


# --- Plan a shipment ---------------------------------------------------------------


class FulfillForm(forms.Form):
    warehouse = forms.ModelChoiceField(
        queryset=None,
        required=False,
        empty_label="Wherever the units are held",
        help_text="Ship everything from one place, or let each warehouse ship what it holds.",
    )

    def __init__(self, *args, order: Order, warehouses, open_units: dict, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["warehouse"].queryset = warehouses
        self.line_fields = []
        for line in order.lines.all():
            units = open_units.get(line.pk, 0)
            if units <= 0:
                continue
            name = f"line_{line.pk}"
            self.fields[name] = forms.IntegerField(
                label=f"Units of {line.sku} ({line.name})",
                min_value=0,
                max_value=units,
                initial=units,
                help_text=f"{units} not yet in a shipment.",
            )
            self.line_fields.append((name, line))

    def lines(self) -> list[LineRequest]:
        return [
            LineRequest(sku=line.sku, quantity=self.cleaned_data[name])
            for name, line in self.line_fields
            if self.cleaned_data.get(name)
        ]


def fulfill_view(model_admin, request, order: Order):
    _require(request, "orders.fulfill_order")
    warehouses = scope_filter(Warehouse.objects.filter(active=True), viewer_scope(request))
    form = FulfillForm(
        request.POST or None,
        order=order,
        warehouses=warehouses,
        open_units=order_open_units(order=order),
    )

    def act(data: dict) -> str:
        if not form.lines():
            raise ValidationFailed({"__all__": ["Choose at least one unit to ship."]})
        created = fulfillment_create(
            order=order, warehouse=data["warehouse"], lines=form.lines(), actor=staff_actor(request)
        )
        places = ", ".join(str(f.warehouse) for f in created)
        return f"Planned {len(created)} shipment(s): {places}."

    return _task(
        model_admin,
        request,
        order,
        form=form,
        act=act,
        title=f"Plan a shipment of order #{order.number}",
        submit_label="Create fulfillment",
    )


# --- Address, reply, note ----------------------------------------------------------


class AddressForm(forms.Form):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        required = {"name", "line1", "city", "postal_code", "country"}
        for key, limit in ADDRESS_FIELDS.items():
            self.fields[key] = forms.CharField(
                label=ADDRESS_LABELS[key], max_length=limit, required=key in required
            )


def address_view(model_admin, request, order: Order):
    _require(request, "orders.change_order")

    def act(data: dict) -> str:
        address = {key: value for key, value in data.items() if value}
        services.order_address_update(order=order, address=address, actor=staff_actor(request))
        return "Delivery address changed."

    return _task(
        model_admin,
        request,
        order,
        form=AddressForm(request.POST or None, initial=order.shipping_address or {}),
        act=act,
        title=f"Delivery address of order #{order.number}",
        submit_label="Save address",
        intro="Until something ships. The old address stays on the timeline.",
    )


class ReplyForm(forms.Form):
    body = forms.CharField(
        label="Reply to the customer",
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="The customer reads it with their order; phone numbers and emails are masked.",
    )


class NoteForm(forms.Form):
    note = forms.CharField(
        label="Internal note",
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Only staff see it, on the timeline.",
    )


def reply_view(model_admin, request, order: Order):
    _require(request, "orders.add_ordermessage")
    user = request.user

    def act(data: dict) -> str:
        message_post(
            order=order,
            role=OrderMessage.Role.STAFF,
            author_name=user.get_short_name() or user.get_username(),
            author_ref=staff_actor(request),
            body=data["body"],
        )
        return "Reply sent."

    return _task(
        model_admin,
        request,
        order,
        form=ReplyForm(request.POST or None),
        act=act,
        title=f"Reply on order #{order.number}",
        submit_label="Send reply",
    )


def note_view(model_admin, request, order: Order):
    _require(request, "orders.change_order")

    def act(data: dict) -> str:
        services.order_note_add(order=order, actor=staff_actor(request), note=data["note"])
        return "Note added."

    return _task(
        model_admin,
        request,
        order,
        form=NoteForm(request.POST or None),
        act=act,
        title=f"Note on order #{order.number}",
        submit_label="Add note",
    )
