"""Django admin for the outbox: webhook endpoints, their deliveries (with replay), events."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.urls import reverse
from django.utils.html import format_html

from backoffice.admin_readonly import ReadOnlyAdmin
from backoffice.admin_scope import ScopedAdmin
from backoffice.exceptions import DomainError
from backoffice.outbox.deliveries import delivery_replay
from backoffice.outbox.models import (
    ALL_EVENTS,
    EVENT_TYPES,
    OutboxEvent,
    WebhookDelivery,
    WebhookEndpoint,
)
from backoffice.outbox.url_guard import UnsafeUrl, url_check
from backoffice.outbox.webhook_services import (
    webhook_endpoint_create,
    webhook_endpoint_delete,
    webhook_endpoint_rotate_secret,
    webhook_endpoint_update,
)


class WebhookEndpointForm(forms.ModelForm):
    url = forms.URLField(max_length=2000, assume_scheme="https")
    event_types = forms.MultipleChoiceField(
        choices=[(ALL_EVENTS, "All events (*)"), *((name, name) for name in EVENT_TYPES)],
        widget=forms.CheckboxSelectMultiple,
    )

    class Meta:
        model = WebhookEndpoint
        fields = ["url", "description", "event_types", "channel_code", "active"]

    def clean_url(self) -> str:
        url = self.cleaned_data["url"]
        try:
            url_check(url, allow_private=settings.WEBHOOK_ALLOW_PRIVATE_URLS)
        except UnsafeUrl as error:
            raise forms.ValidationError(str(error)) from error
        return url


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(ScopedAdmin):
    form = WebhookEndpointForm
    list_display = ["id", "url", "channel_code", "active", "consecutive_failures", "deliveries"]
    list_filter = ["active", "channel_code"]
    search_fields = ["url", "description"]
    readonly_fields = [
        "consecutive_failures",
        "disabled_at",
        "previous_secret_expires_at",
        "created_at",
        "updated_at",
        "deliveries",
    ]
    actions = ["rotate_secret"]

    @admin.display(description="deliveries")
    def deliveries(self, endpoint: WebhookEndpoint) -> str:
        if endpoint.pk is None:
            return "-"
        changelist = reverse("admin:outbox_webhookdelivery_changelist")
        url = f"{changelist}?endpoint__id__exact={endpoint.pk}"
        return format_html('<a href="{}">deliveries</a>', url)

    def save_model(self, request, obj: WebhookEndpoint, form, change: bool) -> None:
        """Through the services, so the URL guard and the secret work as in the API."""
        data = form.cleaned_data
        if change:
            webhook_endpoint_update(
                endpoint=obj,
                url=data["url"],
                event_types=data["event_types"],
                channel_code=data["channel_code"],
                description=data["description"],
                active=data["active"],
            )
            return
        endpoint = webhook_endpoint_create(
            url=data["url"],
            event_types=data["event_types"],
            channel_code=data["channel_code"],
            description=data["description"],
        )
        if not data["active"]:
            endpoint = webhook_endpoint_update(endpoint=endpoint, active=False)
        obj.pk = endpoint.pk
        self.message_user(
            request,
            f"Signing secret (copy it now, it is not shown again): {endpoint.secret}",
            level=messages.WARNING,
        )

    def delete_model(self, request, obj: WebhookEndpoint) -> None:
        """Through the service, which waits for a fan-out delivering to it (no stray row)."""
        webhook_endpoint_delete(endpoint=obj)

    def delete_queryset(self, request, queryset) -> None:
        for endpoint in queryset.order_by("id"):
            webhook_endpoint_delete(endpoint=endpoint)

    @admin.action(description="Rotate the signing secret (the old one stays valid 24 h)")
    def rotate_secret(self, request, queryset) -> None:
        for endpoint in queryset:
            endpoint = webhook_endpoint_rotate_secret(endpoint=endpoint)
            self.message_user(
                request,
                f"New secret for {endpoint.url} (copy it now): {endpoint.secret}",
                level=messages.WARNING,
            )


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ScopedAdmin):
    list_display = [
        "id",
        "event",
        "endpoint",
        "status",
        "attempts",
        "last_status_code",
        "next_attempt_at",
        "updated_at",
    ]
    list_filter = ["status", "event__type", "endpoint"]
    list_select_related = ["event", "endpoint"]
    search_fields = ["event__id", "event__aggregate"]
    actions = ["replay"]

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in self.model._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False

    @admin.action(description="Replay: send again now, with the same event id")
    def replay(self, request, queryset) -> None:
        replayed = 0
        for delivery in queryset:
            try:
                delivery_replay(delivery=delivery)
                replayed += 1
            except DomainError as error:
                self.message_user(request, f"{delivery}: {error.detail}", level=messages.ERROR)
        self.message_user(request, f"Queued {replayed} deliveries again.")


@admin.register(OutboxEvent)
class OutboxEventAdmin(ReadOnlyAdmin):
    list_display = ["id", "type", "aggregate", "sequence", "channel_code", "created_at"]
    list_filter = ["type", "channel_code", ("dispatched_at", admin.EmptyFieldListFilter)]
    search_fields = ["id", "aggregate"]
    date_hierarchy = "created_at"

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in self.model._meta.fields]
