"""The product page of the Django admin: one page for a product, its variants, their price in
each channel, where it is listed, the first stock in each warehouse and its pictures.

It lives in `inventory` (not `catalog`) because it also receives stock: this is the first
app that knows both (`inventory.admin` registers it for Product).

Options and attributes are form fields (names once per product, a value per variant), not
JSON. Saving goes through `inventory.services.product_save_with_stock` (the catalog
services plus opening receipts, all or nothing) and the picture services; a refusal is
shown on the field it names.
"""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.forms import formset_factory
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.http import urlencode

from backoffice.admin_pages import changelist_crumb, staff_actor
from backoffice.admin_scope import viewer_scope
from backoffice.exceptions import DomainError
from backoffice.scopes import scope_filter
from catalog.models import Category, Channel, Product
from catalog.services import (
    ListingInput,
    ProductInput,
    VariantInput,
    product_image_add,
    product_image_remove,
)
from inventory.models import StockLevel, Warehouse
from inventory.services import OpeningStock, product_save_with_stock

OPTION_SLOTS = 3
NEW_PICTURES = 2
SPARE_ATTRIBUTES = 2


class ProductForm(forms.Form):
    name = forms.CharField(max_length=250)
    slug = forms.SlugField(
        max_length=150, help_text="The product's address in storefronts: letters, digits, '-'."
    )
    description = forms.CharField(
        required=False, max_length=20000, widget=forms.Textarea(attrs={"rows": 4})
    )
    category = forms.ModelChoiceField(queryset=Category.objects.order_by("name"), required=False)

    def __init__(self, *args, channels, attribute_rows: int, pictures, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        for slot in range(1, OPTION_SLOTS + 1):
            self.fields[f"option_name_{slot}"] = forms.CharField(
                label=f"Option {slot}",
                max_length=50,
                required=False,
                help_text="What variants differ by, e.g. Size or Colour." if slot == 1 else "",
            )
        for row in range(attribute_rows):
            self.fields[f"attribute_name_{row}"] = forms.CharField(
                label=f"Attribute {row + 1} name", max_length=50, required=False
            )
            self.fields[f"attribute_value_{row}"] = forms.CharField(
                label=f"Attribute {row + 1} value", max_length=500, required=False
            )
        self.attribute_rows = range(attribute_rows)
        self.channels = list(channels)
        for channel in self.channels:
            self.fields[f"publish_{channel.pk}"] = forms.BooleanField(
                label=f"Sell in {channel.name} ({channel.currency})", required=False
            )
        self.pictures = list(pictures)
        for picture in self.pictures:
            self.fields[f"remove_picture_{picture.pk}"] = forms.BooleanField(
                label=f"Remove “{picture.alt_text}”", required=False
            )
        for slot in range(NEW_PICTURES):
            self.fields[f"picture_{slot}"] = forms.ImageField(
                label=f"New picture {slot + 1}", required=False
            )
            self.fields[f"picture_alt_{slot}"] = forms.CharField(
                label=f"What new picture {slot + 1} shows",
                max_length=200,
                required=False,
                help_text="For people who cannot see it, e.g. 'Black tee, front'.",
            )

    def clean(self):
        data = super().clean()
        for slot in range(NEW_PICTURES):
            if data.get(f"picture_{slot}") and not data.get(f"picture_alt_{slot}", "").strip():
                self.add_error(f"picture_alt_{slot}", "Say what the picture shows.")
        return data

    # The groups of fields, in the order the page shows them.
    def publish_fields(self) -> list:
        return [self[f"publish_{channel.pk}"] for channel in self.channels]

    def option_fields(self) -> list:
        return [self[f"option_name_{slot}"] for slot in range(1, OPTION_SLOTS + 1)]

    def attribute_fields(self) -> list:
        return [
            (self[f"attribute_name_{row}"], self[f"attribute_value_{row}"])
            for row in self.attribute_rows
        ]

    def remove_picture_fields(self) -> list:
        return [self[f"remove_picture_{picture.pk}"] for picture in self.pictures]

    def new_picture_fields(self) -> list:
        return [
            (self[f"picture_{slot}"], self[f"picture_alt_{slot}"]) for slot in range(NEW_PICTURES)
        ]

    def option_names(self) -> dict[int, str]:
        return {
            slot: self.cleaned_data[f"option_name_{slot}"].strip()
            for slot in range(1, OPTION_SLOTS + 1)
            if self.cleaned_data.get(f"option_name_{slot}", "").strip()
        }

    def attributes(self) -> dict[str, str]:
        return {
            self.cleaned_data[f"attribute_name_{row}"].strip(): self.cleaned_data.get(
                f"attribute_value_{row}", ""
            )
            for row in self.attribute_rows
            if self.cleaned_data.get(f"attribute_name_{row}", "").strip()
        }


class VariantForm(forms.Form):
    sku = forms.CharField(label="SKU", max_length=64)
    name = forms.CharField(max_length=250, required=False)
    price = forms.CharField(max_length=20)
    weight_grams = forms.IntegerField(label="Weight (g)", min_value=0, required=False)
    low_stock_threshold = forms.IntegerField(
        label="Low stock below", min_value=0, required=False, initial=5
    )

    def __init__(self, *args, channels, warehouses, stock, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.existing = bool(self.initial.get("sku"))
        if self.existing:
            self.fields["sku"].disabled = True  # a variant is known by its SKU everywhere
        self.fields["price"].label = f"Base price ({settings.DEFAULT_CURRENCY})"
        for slot in range(1, OPTION_SLOTS + 1):
            self.fields[f"option_{slot}"] = forms.CharField(
                label=f"Option {slot}", max_length=100, required=False
            )
        self.channel_fields = []
        for channel in channels:
            name = f"price_{channel.pk}"
            self.fields[name] = forms.CharField(
                label=f"Price in {channel.name} ({channel.currency})", max_length=20, required=False
            )
            self.channel_fields.append((name, channel))
        self.stock_fields = []
        for warehouse in warehouses:
            name = f"stock_{warehouse.pk}"
            if self.existing:
                self.stock_fields.append(
                    (name, warehouse, stock.get((self.initial["sku"], warehouse.pk), 0))
                )
                continue
            self.fields[name] = forms.IntegerField(
                label=f"Opening stock in {warehouse.name}", min_value=0, required=False
            )
            self.stock_fields.append((name, warehouse, None))

    def option_bound_fields(self) -> list:
        return [self[f"option_{slot}"] for slot in range(1, OPTION_SLOTS + 1)]

    def price_bound_fields(self) -> list:
        return [self[name] for name, _ in self.channel_fields]

    def stock_cells(self) -> list[dict]:
        """An input for a new variant's opening stock; a link to set an existing one's."""
        cells = []
        for name, warehouse, on_hand in self.stock_fields:
            if on_hand is None:
                cells.append({"field": self[name], "warehouse": warehouse})
            else:
                query = urlencode({"sku": self.initial["sku"], "warehouse": warehouse.pk})
                url = f"{reverse('admin:inventory_stocklevel_set')}?{query}"
                cells.append(
                    {"field": None, "on_hand": on_hand, "url": url, "warehouse": warehouse}
                )
        return cells


VariantFormSet = formset_factory(VariantForm, extra=0, can_delete=False, max_num=500)


def _variant_initial(product: Product, channels, option_slots: dict[str, int]) -> list[dict]:
    rows = []
    for variant in product.variants.all():
        overrides = {price.channel_id: price.price for price in variant.channel_prices.all()}
        row = {
            "sku": variant.sku,
            "name": variant.name,
            "price": str(variant.price.normalize()),
            "weight_grams": variant.weight_grams,
            "low_stock_threshold": variant.low_stock_threshold,
        }
        for key, value in (variant.options or {}).items():
            if key in option_slots:
                row[f"option_{option_slots[key]}"] = value
        for channel in channels:
            if channel.pk in overrides:
                row[f"price_{channel.pk}"] = str(overrides[channel.pk].normalize())
        rows.append(row)
    return rows


def _product_initial(product: Product | None, channels, option_slots: dict[str, int]) -> dict:
    if product is None:
        return {}
    listed = {listing.channel_id: listing.published for listing in product.listings.all()}
    initial = {
        "name": product.name,
        "slug": product.slug,
        "description": product.description,
        "category": product.category_id,
        **{f"option_name_{slot}": name for name, slot in option_slots.items()},
        **{f"publish_{channel.pk}": listed.get(channel.pk, False) for channel in channels},
    }
    for row, (key, value) in enumerate((product.attributes or {}).items()):
        initial[f"attribute_name_{row}"] = key
        initial[f"attribute_value_{row}"] = value if isinstance(value, str) else str(value)
    return initial


def _option_slots(product: Product | None) -> dict[str, int]:
    """Option names in the order the variants use them: {"size": 1, "colour": 2}."""
    names: list[str] = []
    for variant in product.variants.all() if product else []:
        for key in variant.options or {}:
            if key not in names:
                names.append(key)
    return {name: slot for slot, name in enumerate(names[:OPTION_SLOTS], start=1)}


def product_editor(model_admin, request, product: Product | None):
    """The add page (product None) or the page of one product."""
    adding = product is None
    permission = "catalog.add_product" if adding else "catalog.change_product"
    editable = request.user.has_perm(permission)
    if adding and not editable:
        raise PermissionDenied
    scope = viewer_scope(request)
    channels = list(scope_filter(Channel.objects.order_by("name"), scope))
    warehouses = list(scope_filter(Warehouse.objects.filter(active=True), scope).order_by("name"))
    option_slots = _option_slots(product)
    pictures = list(product.images.all()) if product else []
    attribute_rows = len(product.attributes or {}) + SPARE_ATTRIBUTES if product else 3
    stock = {}
    if product:
        for level in StockLevel.objects.filter(variant__product=product).select_related("variant"):
            stock[(level.variant.sku, level.warehouse_id)] = level.on_hand
    posted = request.method == "POST" and editable
    form = ProductForm(
        request.POST if posted else None,
        request.FILES if posted else None,
        initial=_product_initial(product, channels, option_slots),
        channels=channels,
        attribute_rows=attribute_rows,
        pictures=pictures,
    )
    formset = VariantFormSet(
        request.POST if posted else None,
        initial=_variant_initial(product, channels, option_slots) if product else None,
        prefix="variants",
        form_kwargs={"channels": channels, "warehouses": warehouses, "stock": stock},
    )
    if adding and not posted:
        formset.extra = 2
    if posted and form.is_valid() and formset.is_valid():
        saved = _save(request, product, form, formset, channels)
        if saved is not None:
            model_admin.message_user(
                request,
                f"“{saved.name}” {'added' if adding else 'saved'}.",
                messages.SUCCESS,
            )
            if "_addanother" in request.POST:
                return redirect(reverse("admin:catalog_product_add"))
            return redirect(reverse("admin:catalog_product_change", args=[saved.pk]))
    if not editable:
        for field in form.fields.values():
            field.disabled = True
        for variant_form in formset.forms:
            for field in variant_form.fields.values():
                field.disabled = True
    context = {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.opts,
        "title": "Add product" if adding else product.name,
        "original": product,
        "breadcrumbs": [changelist_crumb(model_admin)],
        "form": form,
        "formset": formset,
        "channels": channels,
        "warehouses": warehouses,
        "option_slots": range(1, OPTION_SLOTS + 1),
        "pictures": pictures,
        "editable": editable,
        "can_delete": product is not None and model_admin.has_delete_permission(request, product),
        "adding": adding,
        "default_currency": settings.DEFAULT_CURRENCY,
        "media": model_admin.media,
    }
    return TemplateResponse(request, "admin/catalog/product/editor.html", context)


def _save(request, product, form: ProductForm, formset, channels) -> Product | None:
    option_names = form.option_names()
    variants, opening, rows = [], [], []
    for index, variant_form in enumerate(formset.forms):
        data = variant_form.cleaned_data
        if not data or not data.get("sku"):
            continue
        rows.append(index)
        variants.append(
            VariantInput(
                sku=data["sku"].strip(),
                price=data["price"].strip(),
                name=data.get("name", ""),
                options={
                    name: data[f"option_{slot}"].strip()
                    for slot, name in option_names.items()
                    if data.get(f"option_{slot}", "").strip()
                },
                weight_grams=data.get("weight_grams"),
                low_stock_threshold=data.get("low_stock_threshold"),
                position=index,
            )
        )
        for name, warehouse, _ in variant_form.stock_fields:
            if data.get(name):
                opening.append(
                    OpeningStock(sku=variants[-1].sku, warehouse=warehouse, quantity=data[name])
                )
    listed = set(product.listings.values_list("channel_id", flat=True)) if product else set()
    listings = []
    for channel in channels:
        prices = {
            variant.sku: formset.forms[index].cleaned_data[f"price_{channel.pk}"].strip()
            for variant, index in zip(variants, rows, strict=True)
            if formset.forms[index].cleaned_data.get(f"price_{channel.pk}", "").strip()
        }
        published = form.cleaned_data.get(f"publish_{channel.pk}", False)
        if published or prices or channel.pk in listed:
            listings.append(ListingInput(channel=channel.code, published=published, prices=prices))
    data = ProductInput(
        fields={
            "name": form.cleaned_data["name"],
            "slug": form.cleaned_data["slug"],
            "description": form.cleaned_data["description"],
            "attributes": form.attributes(),
        },
        category=form.cleaned_data["category"].slug if form.cleaned_data["category"] else None,
        category_given=True,
        variants=variants,
        listings=listings,
    )
    actor = staff_actor(request)
    try:
        with transaction.atomic():
            saved = product_save_with_stock(
                data=data, product=product, opening_stock=opening, actor=actor
            )
            for picture in form.pictures:
                if form.cleaned_data.get(f"remove_picture_{picture.pk}"):
                    product_image_remove(image=picture, actor=actor)
            for slot in range(NEW_PICTURES):
                upload = form.cleaned_data.get(f"picture_{slot}")
                if upload:
                    product_image_add(
                        product=saved,
                        upload=upload,
                        alt_text=form.cleaned_data[f"picture_alt_{slot}"],
                        actor=actor,
                    )
    except DomainError as error:
        _show_refusal(error, form, formset, rows)
        return None
    return saved


def _show_refusal(error: DomainError, form: ProductForm, formset, rows: list[int]) -> None:
    """`variants.2.price` goes to the third filled row's price; the rest to the product."""
    named = error.extra.get("errors") or {}
    if not named:
        form.add_error(None, error.detail)
    for field, texts in named.items():
        parts = field.split(".")
        if parts[0] == "variants" and len(parts) >= 2 and parts[1].isdigit():
            target = formset.forms[rows[int(parts[1])]] if int(parts[1]) < len(rows) else None
            name = parts[2] if len(parts) > 2 else None
            if target is not None:
                target.add_error(name if name in target.fields else None, texts)
                continue
        if parts[0] in form.fields:
            form.add_error(parts[0], texts)
        else:
            form.add_error(None, [f"{field}: {text}" for text in texts])
