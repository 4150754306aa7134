"""Django admin for fulfillments and returns, and the order page with its tasks.

Every task calls the same services as the API (`fulfillment.admin_order`,
`fulfillment.admin_shipment`); pages and lists see through the viewer's scope. The order
admin is extended here because its page plans and ships: `orders` may not import
fulfillment.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.urls import path

from backoffice.admin_pages import staff_actor
from backoffice.admin_readonly import ReadOnlyInline
from backoffice.admin_scope import ScopedAdmin
from backoffice.exceptions import DomainError
from backoffice.money import money_format
from fulfillment import admin_order, admin_shipment, services
from fulfillment.models import Fulfillment, FulfillmentLine, Notification, Return, ReturnLine
from orders.admin import OrderAdmin
from orders.models import Order


class OrderWorkAdmin(OrderAdmin):
    """The order admin with its page and tasks (they start shipments, so they live here)."""

    actions = [*OrderAdmin.actions, "plan_shipping"]

    @admin.action(
        description="Plan shipping (all unplanned units, one fulfillment per warehouse)",
        permissions=["fulfill"],
    )
    def plan_shipping(self, request, queryset) -> None:
        planned = 0
        for order in queryset:
            try:
                fulfillments = services.fulfillment_create(order=order, actor=staff_actor(request))
            except DomainError as error:  # e.g. no shipping address: it says what is missing
                self.message_user(request, f"#{order.number}: {error.detail}", messages.ERROR)
                continue
            planned += len(fulfillments)
        if planned:
            self.message_user(request, f"Planned {planned} fulfillment(s).")

    def has_fulfill_permission(self, request) -> bool:
        return request.user.has_perm("orders.fulfill_order")

    def get_urls(self):
        def task(view):
            def run(request, object_id):
                return view(self, request, self.visible_object(request, object_id))

            return self.admin_site.admin_view(run)

        tasks = {
            "capture": admin_order.capture_view,
            "refund": admin_order.refund_view,
            "cancel": admin_order.cancel_view,
            "fulfill": admin_order.fulfill_view,
            "address": admin_order.address_view,
            "reply": admin_order.reply_view,
            "note": admin_order.note_view,
        }
        return [
            *(
                path(f"<path:object_id>/{name}/", task(view), name=f"orders_order_{name}")
                for name, view in tasks.items()
            ),
            *super().get_urls(),
        ]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        order = self.visible_object(request, object_id)
        if not self.has_view_permission(request, order):
            raise PermissionDenied
        return admin_order.order_page(self, request, order)


admin.site.unregister(Order)
admin.site.register(Order, OrderWorkAdmin)


class FulfillmentLineInline(ReadOnlyInline):
    model = FulfillmentLine
    readonly_fields = ["order_line", "quantity"]
    fields = readonly_fields


def _each(modeladmin, request, queryset, service, label: str) -> None:
    done = 0
    for fulfillment in queryset:
        try:
            service(fulfillment=fulfillment, actor=staff_actor(request))
            done += 1
        except DomainError as error:
            modeladmin.message_user(
                request, f"Fulfillment {fulfillment.pk}: {error.detail}", messages.ERROR
            )
    if done:
        modeladmin.message_user(request, f"{label} {done} fulfillment(s).")


@admin.register(Fulfillment)
class FulfillmentAdmin(ScopedAdmin):
    """Shipments: a picker's list (their warehouse only) and the page of each parcel."""

    list_display = [
        "__str__",
        "warehouse",
        "status",
        "destination",
        "carrier",
        "tracking_number",
        "created_at",
        "shipped_at",
    ]
    list_filter = ["status", "warehouse", "created_at"]
    search_fields = ["tracking_number", "order__email", "order__shipping_address__name"]
    list_select_related = ["order", "warehouse"]
    date_hierarchy = "created_at"
    actions = ["pack", "deliver"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description="goes to")
    def destination(self, fulfillment: Fulfillment) -> str:
        address = fulfillment.order.shipping_address or {}
        place = ", ".join(p for p in (address.get("city"), address.get("country")) if p)
        return place or fulfillment.order.shipping_method_name or "-"

    def get_urls(self):
        def task(view, *arguments):
            def run(request, object_id):
                return view(self, request, self.visible_object(request, object_id), *arguments)

            return self.admin_site.admin_view(run)

        return [
            path(
                "<path:object_id>/ship/",
                task(admin_shipment.ship_view),
                name="fulfillment_fulfillment_ship",
            ),
            *(
                path(
                    f"<path:object_id>/{step}/",
                    task(admin_shipment.step_view, step),
                    name=f"fulfillment_fulfillment_{step}",
                )
                for step in admin_shipment.STEPS
            ),
            *super().get_urls(),
        ]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        fulfillment = self.visible_object(request, object_id)
        if not self.has_view_permission(request, fulfillment):
            raise PermissionDenied
        return admin_shipment.fulfillment_page(self, request, fulfillment)

    @admin.action(description="Mark packed", permissions=["change"])
    def pack(self, request, queryset) -> None:
        _each(self, request, queryset, services.fulfillment_pack, "Packed")

    @admin.action(description="Mark delivered", permissions=["change"])
    def deliver(self, request, queryset) -> None:
        _each(self, request, queryset, services.fulfillment_deliver, "Delivered")


class ReturnLineInline(ReadOnlyInline):
    model = ReturnLine
    readonly_fields = ["order_line", "quantity"]
    fields = readonly_fields


@admin.register(Return)
class ReturnAdmin(ScopedAdmin):
    list_display = ["__str__", "reason", "restock", "warehouse", "refunded", "created_at"]
    list_filter = ["restock", "warehouse"]
    search_fields = ["reason", "order__email"]
    list_select_related = ["order", "warehouse"]
    inlines = [ReturnLineInline]
    readonly_fields = [
        "order",
        "reason",
        "restock",
        "warehouse",
        "refunded",
        "created_by",
        "created_at",
    ]
    exclude = ["refund_amount"]

    def has_add_permission(self, request) -> bool:
        return False  # from the order page: Refund, units sent back

    @admin.display(description="refunded", ordering="refund_amount")
    def refunded(self, record: Return) -> str:
        return money_format(record.refund_amount, record.order.currency)


@admin.register(Notification)
class NotificationAdmin(ScopedAdmin):
    list_display = ["__str__", "recipient", "sent_at", "created_at"]
    list_filter = ["kind"]
    list_select_related = ["order"]
    readonly_fields = ["order", "kind", "reference", "recipient", "sent_at", "created_at"]

    def has_add_permission(self, request) -> bool:
        return False
