"""Read-only audit views: API changes (AuditEntry) and staff changes in this admin (LogEntry)."""

from django.contrib import admin
from django.contrib.admin.models import LogEntry

from backoffice.admin_readonly import ReadOnlyAdmin
from backoffice.audit.models import AuditEntry


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "actor", "action", "target_type", "target_id"]
    list_filter = ["action", "target_type"]
    search_fields = ["actor", "target_id"]
    date_hierarchy = "created_at"


@admin.register(LogEntry)
class StaffChangeAdmin(ReadOnlyAdmin):
    list_display = [
        "action_time",
        "user",
        "content_type",
        "object_repr",
        "action_flag",
        "change_message",
    ]
    list_filter = ["action_flag", "content_type"]
    search_fields = ["object_repr", "user__username"]
    date_hierarchy = "action_time"
