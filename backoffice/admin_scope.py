"""The base of every Backoffice admin: what a staff member sees goes through their scope.

Lists, search, exports, filters' choices, the choices of related fields and object
pages all read `get_queryset`, which `backoffice.scopes.scope_filter` narrows; a
scoped staff member typing another object's id into the URL gets a 404, and tables
out of their reach (API keys, webhooks, the audit trail...) do not exist for them.
"""

from __future__ import annotations

from django.contrib import admin
from django.contrib.admin.utils import get_fields_from_path, unquote
from django.http import Http404

from backoffice.scopes import Scope, scope_filter, scope_hides_everything_of
from backoffice.staff_policy import scope_of_user


def viewer_scope(request) -> Scope:
    return scope_of_user(request.user)


class ScopedRelatedFilter(admin.RelatedFieldListFilter):
    """A filter by a related object that offers only the objects the viewer may see."""

    def field_choices(self, field, request, model_admin):
        ordering = self.field_admin_ordering(field, request, model_admin) or ()
        related = scope_filter(field.related_model._default_manager.all(), viewer_scope(request))
        return [(obj.pk, str(obj)) for obj in related.order_by(*ordering)]


class _ScopedFields:
    """Choices of foreign keys and many-to-many fields: only objects in the viewer's reach."""

    def _narrow(self, db_field, request, kwargs: dict) -> dict:
        scope = viewer_scope(request)
        if "queryset" not in kwargs and not scope.unrestricted:
            model = db_field.remote_field.model
            kwargs["queryset"] = scope_filter(model._default_manager.all(), scope)
        return kwargs

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        return super().formfield_for_foreignkey(
            db_field, request, **self._narrow(db_field, request, kwargs)
        )

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        return super().formfield_for_manytomany(
            db_field, request, **self._narrow(db_field, request, kwargs)
        )


class ScopedAdmin(_ScopedFields, admin.ModelAdmin):
    """A ModelAdmin that shows a scoped staff member only what their scope reaches."""

    def get_queryset(self, request):
        return scope_filter(super().get_queryset(request), viewer_scope(request))

    def out_of_reach(self, request) -> bool:
        return scope_hides_everything_of(viewer_scope(request), self.model)

    def has_module_permission(self, request) -> bool:
        return not self.out_of_reach(request) and super().has_module_permission(request)

    def has_view_permission(self, request, obj=None) -> bool:
        return not self.out_of_reach(request) and super().has_view_permission(request, obj)

    def has_add_permission(self, request) -> bool:
        return not self.out_of_reach(request) and super().has_add_permission(request)

    def has_change_permission(self, request, obj=None) -> bool:
        return not self.out_of_reach(request) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None) -> bool:
        return not self.out_of_reach(request) and super().has_delete_permission(request, obj)

    def get_list_filter(self, request):
        return [self._scoped_filter(entry) for entry in super().get_list_filter(request)]

    def _scoped_filter(self, entry):
        if not isinstance(entry, str):
            return entry
        last = get_fields_from_path(self.model, entry)[-1]
        return (entry, ScopedRelatedFilter) if last.is_relation else entry

    def visible_object(self, request, object_id: str):
        """The object behind a URL, or 404: never one outside the viewer's scope."""
        obj = self.get_object(request, unquote(object_id))
        if obj is None:
            raise Http404(f"No {self.opts.verbose_name} with ID “{unquote(object_id)}”.")
        return obj

    def _get_obj_does_not_exist_redirect(self, request, opts, object_id):
        # Django redirects to the home page here; an object outside the viewer's scope, or
        # one that does not exist, is a plain 404 instead (change, delete and history pages).
        raise Http404(f"No {opts.verbose_name} with ID “{unquote(object_id)}”.")


class ScopedInline(_ScopedFields):
    """Mixed into inlines: rows and choices within the viewer's scope."""

    def get_queryset(self, request):
        return scope_filter(super().get_queryset(request), viewer_scope(request))


class ScopedTabularInline(ScopedInline, admin.TabularInline):
    pass


class ScopedStackedInline(ScopedInline, admin.StackedInline):
    pass
