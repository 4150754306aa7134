"""Django admin for warehouses and stock (stock changes go through the inventory services).

Stock rows are read-only; staff set or adjust stock for any SKU in any warehouse (new
rows included), move stock between warehouses, and read each SKU's ledger.
"""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from backoffice.admin_readonly import ReadOnlyAdmin
from backoffice.admin_scope import ScopedAdmin, ScopedTabularInline, viewer_scope
from backoffice.exceptions import DomainError
from backoffice.scopes import scope_filter
from catalog.admin import ProductAdmin
from catalog.models import Product
from inventory.admin_product import product_editor
from inventory.admin_stock import stock_set_view, stock_transfer_view
from inventory.models import StockLevel, StockMovement, Warehouse, WarehouseChannel
from inventory.selectors import stock_level_filter_low, stock_level_list
from inventory.services import MAX_ON_HAND, stock_adjust, warehouse_create, warehouse_update


class WarehouseChannelInline(ScopedTabularInline):
    model = WarehouseChannel
    extra = 0


WAREHOUSE_ADDRESS = ["line1", "line2", "city", "postal_code", "region", "country", "phone"]


class WarehouseForm(forms.ModelForm):
    """The address as fields (not JSON); the rest as the model has it."""

    address_line1 = forms.CharField(label="Address", max_length=200, required=False)
    address_line2 = forms.CharField(label="Address line 2", max_length=200, required=False)
    address_city = forms.CharField(label="City", max_length=100, required=False)
    address_postal_code = forms.CharField(label="Postal code", max_length=20, required=False)
    address_region = forms.CharField(label="Region or state", max_length=100, required=False)
    address_country = forms.CharField(
        label="Country (two letters, e.g. US)", max_length=2, required=False
    )
    address_phone = forms.CharField(label="Phone", max_length=32, required=False)

    class Meta:
        model = Warehouse
        fields = ["code", "name", "kind", "active"]

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        for key, value in (self.instance.address or {}).items():
            if f"address_{key}" in self.fields:
                self.initial[f"address_{key}"] = value

    def clean_code(self) -> str:
        code = self.cleaned_data["code"]
        if Warehouse.objects.filter(code__iexact=code).exclude(pk=self.instance.pk).exists():
            raise forms.ValidationError(f"A warehouse with code '{code}' exists.")
        return code

    def address(self) -> dict[str, str]:
        return {
            key: self.cleaned_data[f"address_{key}"].strip()
            for key in WAREHOUSE_ADDRESS
            if self.cleaned_data.get(f"address_{key}", "").strip()
        }


@admin.register(Warehouse)
class WarehouseAdmin(ScopedAdmin):
    """Warehouses and stores, saved through the inventory services; the code stays once set."""

    form = WarehouseForm
    list_display = ["name", "code", "kind", "active"]
    list_filter = ["kind", "active"]
    search_fields = ["code", "name"]
    inlines = [WarehouseChannelInline]

    def get_fields(self, request, obj=None):
        return [
            "code",
            "name",
            "kind",
            "active",
            *(f"address_{key}" for key in WAREHOUSE_ADDRESS),
        ]

    def get_readonly_fields(self, request, obj=None):
        return ["code"] if obj else []

    def save_model(self, request, obj: Warehouse, form, change: bool) -> None:
        data = form.cleaned_data
        if change:
            warehouse_update(
                warehouse=obj,
                fields={
                    "name": data["name"],
                    "kind": data["kind"],
                    "active": data["active"],
                    "address": form.address(),
                },
            )
            return
        created = warehouse_create(
            code=data["code"],
            name=data["name"],
            kind=data["kind"],
            active=data["active"],
            address=form.address(),
        )
        obj.pk = created.pk


class MovementInline(ScopedTabularInline):
    model = StockMovement
    extra = 0
    can_delete = False
    fields = ["created_at", "delta", "on_hand_after", "reason", "actor", "reference", "note"]
    readonly_fields = fields
    ordering = ["-id"]

    def has_add_permission(self, request, obj=None) -> bool:
        return False


class LowStockFilter(admin.SimpleListFilter):
    """Available units below the variant's low-stock threshold."""

    title = "low stock"
    parameter_name = "low"

    def lookups(self, request, model_admin):
        return [("yes", "Below threshold"), ("no", "At or above threshold")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return stock_level_filter_low(queryset)
        if self.value() == "no":
            return queryset.exclude(pk__in=stock_level_filter_low(queryset).values("pk"))
        return queryset


class StockAdjustForm(forms.Form):
    delta = forms.IntegerField(
        min_value=-MAX_ON_HAND,
        max_value=MAX_ON_HAND,
        help_text="Units to add; a negative number removes units.",
    )
    kind = forms.ChoiceField(
        label="Ledger reason",
        choices=StockMovement.Reason.choices,
        initial=StockMovement.Reason.ADJUSTMENT,
    )
    reason = forms.CharField(
        max_length=500,
        help_text="Why, in words: kept on the ledger line (e.g. 'damaged in transit').",
    )

    def clean_delta(self) -> int:
        delta = self.cleaned_data["delta"]
        if delta == 0:
            raise forms.ValidationError("A movement must change the count.")
        return delta


@admin.register(StockLevel)
class StockLevelAdmin(ReadOnlyAdmin):
    """Stock levels are read-only here; "Adjust stock" on the change page calls `stock_adjust`.

    (Saving a form would write back counters read earlier: changes go through services.)
    """

    list_display = [
        "sku",
        "variant_name",
        "warehouse",
        "on_hand",
        "allocated",
        "reserved",
        "available",
        "updated_at",
        "tasks",
    ]
    list_display_links = ["sku"]
    list_filter = [LowStockFilter, "warehouse"]
    search_fields = ["variant__sku", "variant__product__name"]
    readonly_fields = [
        "variant",
        "warehouse",
        "on_hand",
        "allocated",
        "reserved",
        "available",
        "updated_at",
    ]
    list_select_related = ["variant__product", "warehouse"]
    inlines = [MovementInline]

    def get_queryset(self, request):
        return scope_filter(
            stock_level_list().select_related("variant__product"), viewer_scope(request)
        )

    @admin.display(ordering="variant__sku", description="SKU")
    def sku(self, level: StockLevel) -> str:
        return level.variant.sku

    @admin.display(ordering="variant__product__name", description="product")
    def variant_name(self, level: StockLevel) -> str:
        variant = level.variant
        return f"{variant.product.name} ({variant.name})" if variant.name else variant.product.name

    @admin.display(description="")
    def tasks(self, level: StockLevel) -> str:
        query = f"?sku={level.variant.sku}&warehouse={level.warehouse_id}"
        ledger = reverse("admin:inventory_stockmovement_changelist")
        return format_html(
            '<a href="{}">Set stock</a> · <a href="{}">Ledger</a>',
            reverse("admin:inventory_stocklevel_set") + query,
            f"{ledger}?sku={level.variant.sku}&stock_level__warehouse__id__exact={level.warehouse_id}",
        )

    @admin.display(ordering="reserved", description="reserved")
    def reserved(self, level: StockLevel) -> int:
        return level.reserved

    @admin.display(ordering="available", description="available")
    def available(self, level: StockLevel) -> int:
        return level.available

    def has_adjust_permission(self, request) -> bool:
        return request.user.has_perm("inventory.change_stocklevel")

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("set/", view(lambda r: stock_set_view(self, r)), name="inventory_stocklevel_set"),
            path(
                "transfer/",
                view(lambda r: stock_transfer_view(self, r)),
                name="inventory_stocklevel_transfer",
            ),
            path(
                "<path:object_id>/adjust/",
                view(self.adjust_view),
                name="inventory_stocklevel_adjust",
            ),
            *super().get_urls(),
        ]

    def changelist_view(self, request, extra_context=None):
        extra_context = {
            **(extra_context or {}),
            "can_adjust": self.has_adjust_permission(request),
            "can_transfer": request.user.has_perm("inventory.transfer_stock"),
        }
        return super().changelist_view(request, extra_context)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = {
            **(extra_context or {}),
            "can_adjust": self.has_adjust_permission(request),
            "can_transfer": request.user.has_perm("inventory.transfer_stock"),
        }
        return super().change_view(request, object_id, form_url, extra_context)

    def adjust_view(self, request, object_id: str):
        """Add or remove units with a reason, through the same service as the API."""
        if not self.has_adjust_permission(request):
            raise PermissionDenied
        level = self.visible_object(request, object_id)
        form = StockAdjustForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                movement = stock_adjust(
                    variant=level.variant,
                    warehouse=level.warehouse,
                    delta=form.cleaned_data["delta"],
                    reason=form.cleaned_data["kind"],
                    actor=f"staff:{request.user.get_username()}",
                    note=form.cleaned_data["reason"],
                )
            except DomainError as error:
                form.add_error(None, error.detail)
            else:
                self.message_user(
                    request,
                    f"{level.variant.sku} in {level.warehouse.code}: {movement.delta:+d} "
                    f"({movement.get_reason_display()}), "
                    f"on hand now {movement.on_hand_after}.",
                    level=messages.SUCCESS,
                )
                return redirect(reverse("admin:inventory_stocklevel_change", args=[level.pk]))
        context = {
            **self.admin_site.each_context(request),
            "title": f"Adjust stock: {level.variant.sku} in {level.warehouse.code}",
            "opts": self.opts,
            "original": level,
            "form": form,
        }
        return TemplateResponse(request, "admin/inventory/stocklevel/adjust.html", context)


class SkuFilter(admin.SimpleListFilter):
    """The ledger of one SKU (exactly that SKU, in every warehouse): `?sku=CT00-M-BLA`."""

    title = "SKU"
    parameter_name = "sku"

    def lookups(self, request, model_admin):
        sku = request.GET.get(self.parameter_name)
        return [(sku, sku)] if sku else []

    def queryset(self, request, queryset):
        if self.value():
            return queryset.filter(stock_level__variant__sku__iexact=self.value())
        return queryset


class ReferenceFilter(SkuFilter):
    """The lines of one order, shipment or transfer: `?reference=transfer:...`."""

    title = "reference"
    parameter_name = "reference"

    def queryset(self, request, queryset):
        return queryset.filter(reference=self.value()) if self.value() else queryset


@admin.register(StockMovement)
class StockMovementAdmin(ReadOnlyAdmin):
    """The stock ledger: every change to a count, why, by whom, and what it belongs to."""

    list_display = [
        "created_at",
        "sku",
        "warehouse",
        "delta",
        "on_hand_after",
        "reason",
        "note",
        "actor",
        "reference",
    ]
    list_filter = [SkuFilter, ReferenceFilter, "reason", "stock_level__warehouse"]
    search_fields = ["stock_level__variant__sku", "reference", "actor", "note"]
    list_select_related = ["stock_level__variant", "stock_level__warehouse"]

    @admin.display(ordering="stock_level__variant__sku", description="SKU")
    def sku(self, movement: StockMovement) -> str:
        return movement.stock_level.variant.sku

    @admin.display(ordering="stock_level__warehouse__code", description="warehouse")
    def warehouse(self, movement: StockMovement) -> str:
        return str(movement.stock_level.warehouse)


class ProductEditorAdmin(ProductAdmin):
    """The product admin with its one-page editor (it receives stock, so it lives here)."""

    def add_view(self, request, form_url="", extra_context=None):
        return product_editor(self, request, None)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        product = self.visible_object(request, object_id)
        if not self.has_view_permission(request, product):
            raise PermissionDenied
        return product_editor(self, request, product)


admin.site.unregister(Product)
admin.site.register(Product, ProductEditorAdmin)
