"""Django admin for warehouses and stock (stock changes go through the inventory services)."""

from django.contrib import admin

from inventory.models import StockLevel, StockMovement, Warehouse, WarehouseChannel


class WarehouseChannelInline(admin.TabularInline):
    model = WarehouseChannel
    extra = 0


@admin.register(Warehouse)
class WarehouseAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "kind", "active"]
    list_filter = ["kind", "active"]
    search_fields = ["code", "name"]
    inlines = [WarehouseChannelInline]


class MovementInline(admin.TabularInline):
    model = StockMovement
    extra = 0
    can_delete = False
    fields = ["created_at", "delta", "on_hand_after", "reason", "actor", "reference", "note"]
    readonly_fields = fields
    ordering = ["-id"]

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(StockLevel)
class StockLevelAdmin(admin.ModelAdmin):
    list_display = ["variant", "warehouse", "on_hand", "allocated", "updated_at"]
    list_filter = ["warehouse"]
    search_fields = ["variant__sku"]
    readonly_fields = ["variant", "warehouse", "on_hand", "allocated", "updated_at"]
    list_select_related = ["variant", "warehouse"]
    inlines = [MovementInline]

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(StockMovement)
class StockMovementAdmin(admin.ModelAdmin):
    list_display = [
        "created_at",
        "stock_level",
        "delta",
        "on_hand_after",
        "reason",
        "actor",
        "reference",
    ]
    list_filter = ["reason", "stock_level__warehouse"]
    search_fields = ["stock_level__variant__sku", "reference", "actor"]
    list_select_related = ["stock_level__variant", "stock_level__warehouse"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
