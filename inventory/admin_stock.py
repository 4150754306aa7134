"""The stock tasks of the Django admin: set or adjust any SKU anywhere, and move stock.

Forms only collect what staff type; every change goes through `inventory.services`
(the same as the API), and the warehouses offered are those in the staff member's scope.
"""

from __future__ import annotations

from django import forms
from django.core.exceptions import PermissionDenied
from django.urls import reverse

from backoffice.admin_pages import staff_actor, task_page
from backoffice.admin_scope import viewer_scope
from backoffice.scopes import scope_filter
from catalog.models import ProductVariant
from inventory.models import StockLevel, StockMovement, Warehouse
from inventory.services import MAX_ON_HAND, stock_adjust, stock_set_on_hand, stock_transfer


def _warehouses(request):
    return scope_filter(Warehouse.objects.filter(active=True), viewer_scope(request)).order_by(
        "name"
    )


def _variant(sku: str) -> ProductVariant | None:
    sku = sku.strip()
    return (
        ProductVariant.objects.filter(sku=sku).first()
        or ProductVariant.objects.filter(sku__iexact=sku).first()
    )


class SkuField(forms.CharField):
    """A SKU typed (or scanned) by staff, turned into its variant."""

    def __init__(self, **kwargs) -> None:
        kwargs.setdefault("label", "SKU")
        kwargs.setdefault("max_length", 64)
        kwargs.setdefault("help_text", "As on the label, e.g. CT00-M-BLA.")
        super().__init__(**kwargs)

    def clean(self, value):
        sku = super().clean(value)
        variant = _variant(sku)
        if variant is None:
            raise forms.ValidationError(f"No variant has the SKU '{sku}'.")
        return variant


class StockSetForm(forms.Form):
    MODES = [
        ("count", "Counted: set the units on hand to the quantity"),
        ("adjust", "Add or remove: change the units on hand by the quantity"),
    ]

    sku = SkuField()
    warehouse = forms.ModelChoiceField(queryset=Warehouse.objects.none())
    mode = forms.ChoiceField(
        label="What you are recording", choices=MODES, initial="count", widget=forms.RadioSelect
    )
    quantity = forms.IntegerField(
        min_value=-MAX_ON_HAND,
        max_value=MAX_ON_HAND,
        help_text="A count is zero or more; an adjustment below zero removes units.",
    )
    kind = forms.ChoiceField(
        label="Ledger reason",
        choices=StockMovement.Reason.choices,
        initial=StockMovement.Reason.RECEIPT,
        help_text="For an adjustment (a count is always recorded as a stocktake).",
    )
    note = forms.CharField(
        max_length=500,
        required=False,
        help_text="Why, in words: kept on the ledger line (e.g. 'delivery 4471').",
    )

    def __init__(self, *args, warehouses, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["warehouse"].queryset = warehouses

    def clean(self):
        data = super().clean()
        if data.get("mode") == "count" and (data.get("quantity") or 0) < 0:
            self.add_error("quantity", "A count cannot be below zero.")
        if data.get("mode") == "adjust" and data.get("quantity") == 0:
            self.add_error("quantity", "An adjustment must change the count.")
        return data


class StockTransferForm(forms.Form):
    sku = SkuField()
    source = forms.ModelChoiceField(label="From", queryset=Warehouse.objects.none())
    destination = forms.ModelChoiceField(label="To", queryset=Warehouse.objects.none())
    quantity = forms.IntegerField(min_value=1, max_value=MAX_ON_HAND)
    note = forms.CharField(max_length=500, required=False, help_text="Kept on both ledger lines.")

    def __init__(self, *args, warehouses, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["source"].queryset = warehouses
        self.fields["destination"].queryset = warehouses


def _initial(request) -> dict:
    """Prefilled from a link such as a stock row's "Set stock" (`?sku=...&warehouse=...`)."""
    return {key: request.GET[key] for key in ("sku", "warehouse", "source") if key in request.GET}


def _level_url(variant: ProductVariant, warehouse: Warehouse) -> str:
    level = StockLevel.objects.filter(variant=variant, warehouse=warehouse).first()
    if level is None:
        return reverse("admin:inventory_stocklevel_changelist")
    return reverse("admin:inventory_stocklevel_change", args=[level.pk])


def stock_set_view(model_admin, request):
    """Set (a count) or adjust the stock of any SKU in any warehouse of the viewer's scope."""
    if not request.user.has_perm("inventory.change_stocklevel"):
        raise PermissionDenied
    done: list[str] = []

    def act(data: dict) -> str:
        variant, warehouse = data["sku"], data["warehouse"]
        if data["mode"] == "count":
            movement = stock_set_on_hand(
                variant=variant,
                warehouse=warehouse,
                on_hand=data["quantity"],
                actor=staff_actor(request),
                note=data["note"],
            )
        else:
            movement = stock_adjust(
                variant=variant,
                warehouse=warehouse,
                delta=data["quantity"],
                reason=data["kind"],
                actor=staff_actor(request),
                note=data["note"],
            )
        done.append(_level_url(variant, warehouse))
        if movement is None:
            return f"{variant.sku} in {warehouse}: the count matches, nothing changed."
        return (
            f"{variant.sku} in {warehouse}: {movement.delta:+d} "
            f"({movement.get_reason_display()}), on hand now {movement.on_hand_after}."
        )

    return task_page(
        request,
        model_admin,
        form=StockSetForm(
            request.POST or None, initial=_initial(request), warehouses=_warehouses(request)
        ),
        act=act,
        done_url=lambda: done[0],
        title="Set or adjust stock",
        submit_label="Record",
        intro="Any SKU, in any warehouse or store you work with, including its first stock.",
        back_url=reverse("admin:inventory_stocklevel_changelist"),
    )


def stock_transfer_view(model_admin, request):
    """Move units between two warehouses of the viewer's scope (both sides of the ledger)."""
    if not request.user.has_perm("inventory.transfer_stock"):
        raise PermissionDenied
    done: list[str] = []

    def act(data: dict) -> str:
        transfer = stock_transfer(
            variant=data["sku"],
            source=data["source"],
            destination=data["destination"],
            quantity=data["quantity"],
            actor=staff_actor(request),
            note=data["note"],
        )
        ledger = reverse("admin:inventory_stockmovement_changelist")
        done.append(f"{ledger}?reference={transfer.reference}")
        return (
            f"Moved {data['quantity']} x {data['sku'].sku} from {data['source']} to "
            f"{data['destination']}: on hand {transfer.out.on_hand_after} and "
            f"{transfer.into.on_hand_after} ({transfer.reference})."
        )

    return task_page(
        request,
        model_admin,
        form=StockTransferForm(
            request.POST or None, initial=_initial(request), warehouses=_warehouses(request)
        ),
        act=act,
        done_url=lambda: done[0],
        title="Move stock between warehouses",
        submit_label="Move stock",
        intro="Only units that no order or cart holds can move.",
        back_url=reverse("admin:inventory_stocklevel_changelist"),
    )
