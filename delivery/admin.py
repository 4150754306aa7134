"""Django admin for delivery: zones and slots are edited here; deliveries are read, and
assigned or put back in the queue through the same services as the API."""

from __future__ import annotations

from django.contrib import admin, messages

from backoffice.exceptions import DomainError
from delivery.dispatch import delivery_requeue
from delivery.models import Courier, Delivery, DeliveryOffer, DeliverySlot, DeliveryZone


class SlotInline(admin.TabularInline):
    model = DeliverySlot
    extra = 0
    readonly_fields = ["booked"]


@admin.register(DeliveryZone)
class DeliveryZoneAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "warehouse", "kind", "fee", "minimum_order", "active"]
    list_filter = ["kind", "active"]
    search_fields = ["code", "name"]
    inlines = [SlotInline]


@admin.register(Courier)
class CourierAdmin(admin.ModelAdmin):
    list_display = ["__str__", "available", "available_since", "active"]
    list_filter = ["available", "active"]
    readonly_fields = ["access", "available", "available_since", "missed_offers"]
    filter_horizontal = ["warehouses"]

    def has_add_permission(self, request) -> bool:
        return False  # a courier's token is shown once: create couriers through the API


class OfferInline(admin.TabularInline):
    model = DeliveryOffer
    extra = 0
    can_delete = False
    readonly_fields = ["courier", "status", "created_at", "expires_at", "answered_at"]

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    list_display = ["order", "zone", "status", "courier", "estimated_latest", "created_at"]
    list_filter = ["status", "zone"]
    search_fields = ["order__id"]
    exclude = ["pin"]
    readonly_fields = [field.name for field in Delivery._meta.fields if field.name != "pin"]
    inlines = [OfferInline]
    actions = ["requeue"]

    def has_add_permission(self, request) -> bool:
        return False

    @admin.action(description="Take from the courier and queue again")
    def requeue(self, request, queryset) -> None:
        for delivery in queryset:
            try:
                delivery_requeue(delivery=delivery, actor=f"staff:{request.user.get_username()}")
            except DomainError as error:
                self.message_user(request, f"{delivery}: {error.detail}", messages.WARNING)
