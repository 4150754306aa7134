"""The order's money tasks: capture, refund (an amount, or returned lines with restock), cancel."""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.contrib import messages
from django.shortcuts import redirect

from backoffice.admin_pages import staff_actor
from backoffice.exceptions import DomainError
from backoffice.money import money_format, parse_amount
from backoffice.staff_policy import refund_check
from fulfillment.admin_order.common import order_url, require, task
from fulfillment.models import Fulfillment
from fulfillment.returns import return_create, return_refund_amount
from fulfillment.services import (
    order_cancel_with_shipments,
    order_payment_capture,
)
from orders import services
from orders.models import Order
from orders.payments import ManualProvider
from orders.services.validation import LineRequest


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
    require(request, "orders.capture_order")
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
    return task(
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
    require(request, "orders.refund_order")
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

    return task(
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
    require(request, "orders.cancel_order")
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

    return task(
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
