"""The staff app, and the Django admin configured to use the Backoffice site."""

from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps
from django.db.models.signals import post_migrate


class StaffConfig(AppConfig):
    default = True  # this module also holds the admin's configuration
    name = "staff"
    verbose_name = "Staff and roles"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from backoffice.staff_policy import staff_policy_install
        from staff.access import staff_refund_check, staff_scope
        from staff.roles import _after_migrate

        staff_policy_install(scope_of=staff_scope, refund_check=staff_refund_check)
        # Groups and permissions are data Django itself creates after migrate: so are roles.
        post_migrate.connect(_after_migrate, dispatch_uid="staff-roles-sync")


class BackofficeAdminConfig(admin_apps.AdminConfig):
    default = False  # named in INSTALLED_APPS as staff.apps.BackofficeAdminConfig
    default_site = "staff.site.BackofficeAdminSite"
