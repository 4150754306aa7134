"""Django admin for till sales: flagged ones are filtered out for staff to resolve."""

from __future__ import annotations

from django.contrib import admin

from backoffice.admin_scope import ScopedAdmin
from pos.models import PosSale
from pos.services import pos_sale_resolve


@admin.register(PosSale)
class PosSaleAdmin(ScopedAdmin):
    list_display = ["client_id", "channel", "store", "status", "order", "reason", "sold_at"]
    list_filter = ["status", "channel", "store"]
    search_fields = ["client_id", "reason"]
    list_select_related = ["channel", "store", "order"]
    actions = ["resolve"]
    readonly_fields = [
        "channel",
        "client_id",
        "store",
        "status",
        "order",
        "reason",
        "payload",
        "sold_at",
        "created_at",
        "resolved_at",
        "resolved_by",
    ]

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    @admin.action(description="Mark flagged sales as resolved")
    def resolve(self, request, queryset) -> None:
        actor = f"staff:{request.user.get_username()}"
        resolved = [pos_sale_resolve(sale=sale, actor=actor) for sale in queryset]
        done = sum(1 for sale in resolved if sale.resolved_by == actor)
        self.message_user(request, f"Resolved {done} sale(s).")
