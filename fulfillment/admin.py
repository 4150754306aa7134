"""Django admin for fulfillments and returns; actions call the same services as the API.

Orders get their "Plan shipping" action here: `orders` may not import fulfillment, so the
order admin is extended by the app that plans.
"""

from __future__ import annotations

from django.contrib import admin, messages

from backoffice.exceptions import DomainError
from fulfillment import services
from fulfillment.models import Fulfillment, FulfillmentLine, Notification, Return, ReturnLine
from orders.admin import OrderAdmin as BaseOrderAdmin
from orders.models import Order


class LineInline(admin.TabularInline):
    extra = 0
    can_delete = False
    readonly_fields = ["order_line", "quantity"]

    def has_add_permission(self, request, obj=None) -> bool:
        return False


class FulfillmentLineInline(LineInline):
    model = FulfillmentLine


def _each(modeladmin, request, queryset, service, label: str, **arguments) -> None:
    done = 0
    for fulfillment in queryset:
        try:
            service(
                fulfillment=fulfillment, actor=f"staff:{request.user.get_username()}", **arguments
            )
            done += 1
        except DomainError as error:
            modeladmin.message_user(
                request, f"Fulfillment {fulfillment.pk}: {error.detail}", messages.ERROR
            )
    if done:
        modeladmin.message_user(request, f"{label} {done} fulfillment(s).")


@admin.register(Fulfillment)
class FulfillmentAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "order",
        "warehouse",
        "status",
        "carrier",
        "tracking_number",
        "created_at",
        "shipped_at",
        "delivered_at",
    ]
    list_filter = ["status", "warehouse"]
    search_fields = ["tracking_number", "order__email"]
    list_select_related = ["order", "warehouse"]
    inlines = [FulfillmentLineInline]
    readonly_fields = [
        "order",
        "warehouse",
        "status",
        "created_by",
        "created_at",
        "packed_at",
        "shipped_at",
        "delivered_at",
        "cancelled_at",
    ]
    fields = [
        "order",
        "warehouse",
        "status",
        "carrier",
        "tracking_number",
        "tracking_url",
        "created_by",
        "created_at",
        "packed_at",
        "shipped_at",
        "delivered_at",
        "cancelled_at",
    ]
    actions = ["pack", "ship", "deliver", "cancel"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    @admin.action(description="Mark packed")
    def pack(self, request, queryset) -> None:
        _each(self, request, queryset, services.fulfillment_pack, "Packed")

    @admin.action(description="Ship (with the carrier and tracking number saved on each)")
    def ship(self, request, queryset) -> None:
        for fulfillment in queryset:
            _each(
                self,
                request,
                [fulfillment],
                services.fulfillment_ship,
                "Shipped",
                carrier=fulfillment.carrier,
                tracking_number=fulfillment.tracking_number,
                tracking_url=fulfillment.tracking_url,
            )

    @admin.action(description="Mark delivered")
    def deliver(self, request, queryset) -> None:
        _each(self, request, queryset, services.fulfillment_deliver, "Delivered")

    @admin.action(description="Cancel (units stay allocated to the order)")
    def cancel(self, request, queryset) -> None:
        _each(self, request, queryset, services.fulfillment_cancel, "Cancelled")


class ReturnLineInline(LineInline):
    model = ReturnLine


@admin.register(Return)
class ReturnAdmin(admin.ModelAdmin):
    list_display = ["id", "order", "reason", "restock", "warehouse", "refund_amount", "created_at"]
    list_filter = ["restock", "warehouse"]
    search_fields = ["reason", "order__email"]
    inlines = [ReturnLineInline]
    readonly_fields = [
        "order",
        "reason",
        "restock",
        "warehouse",
        "refund_amount",
        "created_by",
        "created_at",
    ]

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ["order", "kind", "recipient", "sent_at", "created_at"]
    list_filter = ["kind"]
    readonly_fields = ["order", "kind", "reference", "recipient", "sent_at", "created_at"]


admin.site.unregister(Order)


@admin.register(Order)
class OrderAdmin(BaseOrderAdmin):
    actions = [*BaseOrderAdmin.actions, "plan_shipping"]

    @admin.action(description="Plan shipping (all unplanned units, one fulfillment per warehouse)")
    def plan_shipping(self, request, queryset) -> None:
        planned = 0
        for order in queryset:
            try:
                fulfillments = services.fulfillment_create(
                    order=order, actor=f"staff:{request.user.get_username()}"
                )
            except DomainError as error:  # e.g. no shipping address: it says what is missing
                self.message_user(request, f"#{order.number}: {error.detail}", messages.ERROR)
                continue
            planned += len(fulfillments)
        if planned:
            self.message_user(request, f"Planned {planned} fulfillment(s).")
