"""Django admin for API keys: the full key is shown once, in the message after creating it."""

from django.contrib import admin, messages
from django.utils import timezone

from backoffice.admin_scope import ScopedAdmin
from channels_api.key_expiry import days_until_expiry
from channels_api.models import ApiKey
from channels_api.services import api_key_assign_secret


@admin.register(ApiKey)
class ApiKeyAdmin(ScopedAdmin):
    list_display = [
        "prefix",
        "name",
        "kind",
        "channel",
        "rate_limit",
        "last_used_at",
        "expires_at",
        "expiry",
        "revoked_at",
    ]
    list_filter = ["kind", "channel", ("revoked_at", admin.EmptyFieldListFilter)]
    search_fields = ["prefix", "name"]
    readonly_fields = ["prefix", "created_at", "last_used_at", "revoked_at"]
    actions = ["revoke"]

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["kind", "channel", "name", "rate_limit", "expires_at"]
        return [
            "prefix",
            "kind",
            "channel",
            "name",
            "rate_limit",
            "expires_at",
            "created_at",
            "last_used_at",
            "revoked_at",
        ]

    @admin.display(description="expiry", ordering="expires_at")
    def expiry(self, api_key: ApiKey) -> str:
        """'expires in N days' (N rounded up), 'expired', or '-' for a key without expiry."""
        days = days_until_expiry(api_key, timezone.now())
        if days is None:
            return "-"
        if api_key.expired(timezone.now()):
            return "expired"
        return "expires in 1 day" if days == 1 else f"expires in {days} days"

    def get_readonly_fields(self, request, obj=None):
        return [*self.readonly_fields, "kind", "channel"] if obj else []

    def save_model(self, request, obj: ApiKey, form, change: bool) -> None:
        if not change:
            raw_key = api_key_assign_secret(api_key=obj)
            obj.save()
            self.message_user(
                request,
                f"New key (copy it now, it is not shown again): {raw_key}",
                level=messages.WARNING,
            )
            return
        obj.save()

    @admin.action(description="Revoke selected keys")
    def revoke(self, request, queryset) -> None:
        count = queryset.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())
        self.message_user(request, f"Revoked {count} key(s).")
