"""Staff accounts in the admin: a person's roles (groups), their scope and their refund limits."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.models import Group, User

from backoffice.admin_scope import ScopedAdmin, ScopedStackedInline, ScopedTabularInline
from staff.models import RefundLimit, StaffProfile
from staff.roles import ROLES


class StaffProfileInline(ScopedStackedInline):
    model = StaffProfile
    can_delete = False
    verbose_name = "scope: where this person works"
    verbose_name_plural = verbose_name
    filter_horizontal = ["channels", "warehouses"]
    fields = ["all_channels", "channels", "all_warehouses", "warehouses"]


class RefundLimitInline(ScopedTabularInline):
    model = RefundLimit
    extra = 0
    verbose_name = "refund limit"


admin.site.unregister(User)
admin.site.unregister(Group)


@admin.register(User)
class StaffUserAdmin(ScopedAdmin, UserAdmin):
    """Owners manage staff here: a role is a group; the scope and limits are per person."""

    inlines = [StaffProfileInline, RefundLimitInline]
    list_display = ["username", "email", "roles", "is_active", "is_superuser", "last_login"]
    list_filter = ["groups", "is_active", "is_superuser"]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("groups")

    @admin.display(description="roles")
    def roles(self, user: User) -> str:
        return ", ".join(group.name for group in user.groups.all()) or "-"


@admin.register(Group)
class RoleAdmin(ScopedAdmin, GroupAdmin):
    list_display = ["name", "purpose"]

    @admin.display(description="what it is for")
    def purpose(self, group: Group) -> str:
        return ROLES.get(group.name, ("A custom role.",))[0]
