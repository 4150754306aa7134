"""The order's other tasks: plan a shipment, change the delivery address, reply, add a note."""

from __future__ import annotations

from django import forms

from backoffice.admin_pages import staff_actor
from backoffice.admin_scope import viewer_scope
from backoffice.exceptions import ValidationFailed
from backoffice.scopes import scope_filter
from fulfillment.admin_order.common import ADDRESS_LABELS, require, task
from fulfillment.selectors import order_open_units
from fulfillment.services import (
    fulfillment_create,
)
from inventory.models import Warehouse
from orders import services
from orders.messages.services import message_post
from orders.models import Order, OrderMessage
from orders.services.validation import ADDRESS_FIELDS, LineRequest


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
    require(request, "orders.fulfill_order")
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

    return task(
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
    require(request, "orders.change_order")

    def act(data: dict) -> str:
        address = {key: value for key, value in data.items() if value}
        services.order_address_update(order=order, address=address, actor=staff_actor(request))
        return "Delivery address changed."

    return task(
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
    require(request, "orders.add_ordermessage")
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

    return task(
        model_admin,
        request,
        order,
        form=ReplyForm(request.POST or None),
        act=act,
        title=f"Reply on order #{order.number}",
        submit_label="Send reply",
    )


def note_view(model_admin, request, order: Order):
    require(request, "orders.change_order")

    def act(data: dict) -> str:
        services.order_note_add(order=order, actor=staff_actor(request), note=data["note"])
        return "Note added."

    return task(
        model_admin,
        request,
        order,
        form=NoteForm(request.POST or None),
        act=act,
        title=f"Note on order #{order.number}",
        submit_label="Add note",
    )
