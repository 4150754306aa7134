"""What the order page and its tasks share: the address's names, the way back to the order."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.urls import reverse

from backoffice.admin_pages import changelist_crumb, object_crumb, task_page
from orders.models import Order

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


def require(request, permission: str) -> None:
    if not request.user.has_perm(permission):
        raise PermissionDenied


def task(model_admin, request, order: Order, **page):
    """A task of this order: back to the order page when done (or via "Back")."""
    return task_page(
        request,
        model_admin,
        done_url=order_url(order),
        breadcrumbs=[changelist_crumb(model_admin), object_crumb(order)],
        back_url=order_url(order),
        **page,
    )
