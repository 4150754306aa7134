"""Django admin for delivery: zones and slots are edited here; deliveries are read, and
assigned or put back in the queue through the same services as the API. Every page goes
through the viewer's scope (a store manager sees their stores' zones, couriers and
deliveries), and no form asks for JSON: postal codes are a code a line, opening hours a
day a line."""

from __future__ import annotations

from datetime import timedelta

from django import forms
from django.contrib import admin, messages

from backoffice.admin_refusal import RefusedSaveMessage
from backoffice.admin_scope import ScopedAdmin, ScopedTabularInline
from backoffice.exceptions import DomainError, ValidationFailed
from delivery.dispatch import delivery_requeue
from delivery.models import Courier, Delivery, DeliveryOffer, DeliverySlot, DeliveryZone
from delivery.setup import (
    ZONE_FIELDS,
    slot_delete,
    slot_update,
    slots_create,
    zone_clean,
    zone_create,
    zone_update,
)
from delivery.zones import opening_hours_from_text, opening_hours_text


class SlotInline(ScopedTabularInline):
    model = DeliverySlot
    extra = 0
    readonly_fields = ["booked"]


class DeliveryZoneForm(forms.ModelForm):
    postal_codes = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="One postal code a line (postal-code zones).",
    )
    opening_hours = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 7}),
        help_text=(
            "A day a line, e.g. <code>mon 09:00-12:00 14:00-21:00</code>; empty: always open."
        ),
    )

    class Meta:
        model = DeliveryZone
        exclude: list[str] = []

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.initial["postal_codes"] = "\n".join(self.instance.postal_codes)
            self.initial["opening_hours"] = opening_hours_text(self.instance.opening_hours)

    def clean_postal_codes(self) -> list[str]:
        return [
            line.strip() for line in self.cleaned_data["postal_codes"].splitlines() if line.strip()
        ]

    def clean_opening_hours(self) -> dict:
        try:
            return opening_hours_from_text(self.cleaned_data["opening_hours"])
        except ValueError as error:
            raise forms.ValidationError(str(error)) from error

    def zone_fields(self) -> dict:
        return {name: value for name, value in self.cleaned_data.items() if name in ZONE_FIELDS}

    def clean(self):
        cleaned = super().clean()
        if self.errors:
            return cleaned
        if self.instance.pk:
            trial = DeliveryZone.objects.get(pk=self.instance.pk)
        else:
            trial = DeliveryZone(code=cleaned.get("code"), warehouse=cleaned.get("warehouse"))
        try:
            zone_clean(trial, self.zone_fields())  # the API's rules, on a copy
        except ValidationFailed as error:
            for name, problems in error.errors.items():
                self.add_error(name if name in self.fields else None, problems)
        return cleaned


@admin.register(DeliveryZone)
class DeliveryZoneAdmin(RefusedSaveMessage, ScopedAdmin):
    """A rule the form could not see coming (a booking or a zone committed meanwhile)
    undoes the whole save and says why (`RefusedSaveMessage`)."""

    form = DeliveryZoneForm
    list_display = ["code", "name", "warehouse", "kind", "fee", "minimum_order", "active"]
    list_filter = ["kind", "active"]
    search_fields = ["code", "name"]
    inlines = [SlotInline]

    def get_readonly_fields(self, request, obj=None):
        return ["code", "warehouse"] if obj is not None else []

    def save_model(self, request, obj, form, change) -> None:
        """Saved by the same services as `POST`/`PATCH /admin/delivery-zones`."""
        fields = form.zone_fields()
        if change:
            saved = zone_update(zone=obj, fields=fields)
        else:
            saved = zone_create(code=obj.code, warehouse=obj.warehouse, fields=fields)
        obj.pk = saved.pk

    def save_formset(self, request, form, formset, change) -> None:
        """Slots through the set-up services, each under its lock: a booking committed
        while the page was saved is counted (a plain save would write back the `booked`
        it read), and a booked slot keeps its times."""
        if formset.model is not DeliverySlot:
            return super().save_formset(request, form, formset, change)
        formset.save(commit=False)
        for slot in formset.deleted_objects:
            carts = slot_delete(slot=slot)
            if carts:
                self.message_user(
                    request,
                    f"The slot at {slot.starts_at:%Y-%m-%d %H:%M} was chosen by {carts} open "
                    f"cart{'s' if carts != 1 else ''}: they are asked to choose another one "
                    "at checkout.",
                    messages.WARNING,
                )
        for slot, _changed in formset.changed_objects:
            slot_update(
                slot=slot, capacity=slot.capacity, starts_at=slot.starts_at, ends_at=slot.ends_at
            )
        for slot in formset.new_objects:
            minutes = int((slot.ends_at - slot.starts_at).total_seconds() // 60)
            slots_create(
                zone=form.instance,
                starts_at=slot.starts_at,
                ends_at=slot.starts_at + timedelta(minutes=minutes),
                slot_minutes=minutes,
                capacity=slot.capacity,
            )
        return None


@admin.register(Courier)
class CourierAdmin(ScopedAdmin):
    list_display = ["__str__", "available", "available_since", "active"]
    list_filter = ["available", "active"]
    readonly_fields = ["access", "available", "available_since", "missed_offers"]
    filter_horizontal = ["warehouses"]

    def has_add_permission(self, request) -> bool:
        return False  # a courier's token is shown once: create couriers through the API


class OfferInline(ScopedTabularInline):
    model = DeliveryOffer
    extra = 0
    can_delete = False
    readonly_fields = ["courier", "status", "created_at", "expires_at", "answered_at"]

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Delivery)
class DeliveryAdmin(ScopedAdmin):
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
