"""The fulfillment page of the Django admin, for the picker packing it: where it goes, what is
in it, and its steps (pack, ship with carrier and tracking, deliver, cancel), each through
the same service as the API."""

from __future__ import annotations

from django import forms
from django.core.exceptions import PermissionDenied
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme

from backoffice.admin_pages import changelist_crumb, staff_actor, task_page
from fulfillment import services
from fulfillment.admin_order import ADDRESS_NAMES
from fulfillment.models import Fulfillment
from orders.delivery import ships_goods
from orders.services.validation import ADDRESS_FIELDS


def fulfillment_url(fulfillment: Fulfillment) -> str:
    return reverse("admin:fulfillment_fulfillment_change", args=[fulfillment.pk])


def _back(request, fulfillment: Fulfillment) -> str:
    """Where to go after a step: the page it was started from (the order page), or this one."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return target
    return fulfillment_url(fulfillment)


def _task(model_admin, request, fulfillment: Fulfillment, **page):
    """A step of this shipment: back where it was started from (the order page) when done."""
    return task_page(
        request,
        model_admin,
        done_url=lambda: _back(request, fulfillment),
        breadcrumbs=[
            changelist_crumb(model_admin),
            {"text": str(fulfillment), "url": fulfillment_url(fulfillment)},
        ],
        back_url=fulfillment_url(fulfillment),
        **page,
    )


def fulfillment_page(model_admin, request, fulfillment: Fulfillment) -> TemplateResponse:
    order = fulfillment.order
    method = order.shipping_method
    address = order.shipping_address or {}
    context = {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.opts,
        "title": f"Fulfillment {fulfillment.pk} of order #{order.number}",
        "fulfillment": fulfillment,
        "original": fulfillment,
        "order": order,
        "order_url": reverse("admin:orders_order_change", args=[order.pk])
        if request.user.has_perm("orders.view_order")
        else "",
        "breadcrumbs": [changelist_crumb(model_admin)],
        "method": order.shipping_method_name or "No shipping method",
        "pickup": not ships_goods(channel=order.channel, method=method),
        "address": [(ADDRESS_NAMES[k], address[k]) for k in ADDRESS_FIELDS if address.get(k)],
        "lines": list(fulfillment.lines.select_related("order_line")),
        "can_change": request.user.has_perm("fulfillment.change_fulfillment"),
        "steps": {
            "pack": fulfillment.status == Fulfillment.Status.PENDING,
            "ship": fulfillment.status in (Fulfillment.Status.PENDING, Fulfillment.Status.PACKED),
            "deliver": fulfillment.status == Fulfillment.Status.SHIPPED,
            "cancel": fulfillment.status in (Fulfillment.Status.PENDING, Fulfillment.Status.PACKED),
        },
    }
    return TemplateResponse(request, "admin/fulfillment/fulfillment/detail.html", context)


class ShipForm(forms.Form):
    carrier = forms.CharField(max_length=100, required=False, help_text="e.g. DHL, UPS, La Poste.")
    tracking_number = forms.CharField(max_length=100, required=False)
    tracking_url = forms.URLField(
        max_length=500,
        required=False,
        assume_scheme="https",
        label="Tracking link",
        help_text="Where the customer follows the parcel (optional).",
    )

    def __init__(self, *args, ships_goods: bool, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # Required for a parcel: the service says so too; the form says it before posting.
        for name in ("carrier", "tracking_number"):
            self.fields[name].required = ships_goods


def ship_view(model_admin, request, fulfillment: Fulfillment):
    if not request.user.has_perm("fulfillment.change_fulfillment"):
        raise PermissionDenied
    order = fulfillment.order
    form = ShipForm(
        request.POST or None,
        ships_goods=ships_goods(channel=order.channel, method=order.shipping_method),
    )

    def act(data: dict) -> str:
        services.fulfillment_ship(fulfillment=fulfillment, actor=staff_actor(request), **data)
        return f"Fulfillment {fulfillment.pk} shipped; the customer is told by email."

    lines = ", ".join(
        f"{line.quantity} x {line.order_line.sku}" for line in fulfillment.lines.all()
    )
    return _task(
        model_admin,
        request,
        fulfillment,
        form=form,
        act=act,
        title=f"Ship fulfillment {fulfillment.pk} of order #{order.number}",
        submit_label="Ship",
        facts=[
            ("From", fulfillment.warehouse.name),
            ("Units", lines),
            ("Method", order.shipping_method_name or "No shipping method"),
        ],
        consequences=[
            f"The units leave the stock of {fulfillment.warehouse.name}.",
            "The customer gets an email with the tracking number, and sees it with their order.",
        ],
    )


def step_view(model_admin, request, fulfillment: Fulfillment, step: str):
    """Pack, deliver or cancel: a confirmation page, then the service."""
    if not request.user.has_perm("fulfillment.change_fulfillment"):
        raise PermissionDenied
    service, label, done, consequence = STEPS[step]

    def act(data: dict) -> str:
        service(fulfillment=fulfillment, actor=staff_actor(request))
        return f"Fulfillment {fulfillment.pk} {done}."

    return _task(
        model_admin,
        request,
        fulfillment,
        form=forms.Form(request.POST or None),
        act=act,
        title=f"{label}: fulfillment {fulfillment.pk} of order #{fulfillment.order.number}",
        submit_label=label,
        danger=step == "cancel",
        consequences=[consequence],
    )


STEPS = {
    "pack": (services.fulfillment_pack, "Mark packed", "packed", "It waits for the carrier."),
    "deliver": (
        services.fulfillment_deliver,
        "Mark delivered",
        "delivered",
        "The customer is told; when every unit was delivered, the order completes.",
    ),
    "cancel": (
        services.fulfillment_cancel,
        "Cancel this shipment",
        "cancelled",
        "Nothing leaves; the units stay held for the order, to ship another way.",
    ),
}
