"""A Django admin for records that staff read but never add, edit or delete by hand.

Ledgers, audit trails, outbox events and reports: their rows are written by the
services (or are not rows at all), so the admin only shows them.
"""

from __future__ import annotations

from backoffice.admin_scope import ScopedAdmin, ScopedTabularInline


class ReadOnlyAdmin(ScopedAdmin):
    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class ReadOnlyInline(ScopedTabularInline):
    """Rows shown beside their parent, never edited there."""

    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
