"""Django admin for orders, carts, vouchers and shipping methods; actions call the services."""

from __future__ import annotations

import csv
import io

from django import forms
from django.contrib import admin
from django.http import HttpResponse

from backoffice.admin_readonly import ReadOnlyAdmin, ReadOnlyInline
from backoffice.admin_scope import ScopedAdmin, viewer_scope
from backoffice.exceptions import ValidationFailed
from backoffice.money import money_format, money_plain
from backoffice.scopes import scope_reaches_every_channel
from orders.models import Cart, CartLine, Order, ShippingMethod, Voucher
from orders.selectors import order_search
from orders.services.setup import voucher_create, voucher_update
from orders.services.validation import ADDRESS_FIELDS


@admin.register(Order)
class OrderAdmin(ScopedAdmin):
    """The order list; the order page and its tasks are added by `fulfillment.admin`."""

    list_display = [
        "number",
        "created_at",
        "channel",
        "customer",
        "total_display",
        "status",
        "payment_status",
        "fulfillment_status",
    ]
    list_display_links = ["number"]
    list_filter = [
        "status",
        "payment_status",
        "fulfillment_status",
        "channel",
        "source",
        "created_at",
    ]
    search_fields = ["email", "phone", "token", "voucher_code"]
    search_help_text = "An order number (#100042), an email, a phone, a name or a voucher code."
    list_select_related = ["channel"]
    date_hierarchy = "created_at"
    actions = ["export_csv"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description="order", ordering="id")
    def number(self, order: Order) -> str:
        return f"#{order.number}"

    @admin.display(description="customer")
    def customer(self, order: Order) -> str:
        name = (order.shipping_address or {}).get("name", "")
        return " · ".join(part for part in (name, order.email or order.phone) if part) or "-"

    @admin.display(description="total", ordering="total")
    def total_display(self, order: Order) -> str:
        return money_format(order.total, order.currency)

    def get_search_results(self, request, queryset, search_term):
        found, distinct = super().get_search_results(request, queryset, search_term)
        # Numbers and names, within what this viewer may see (`queryset` is already scoped).
        return found | order_search(queryset, search_term), distinct

    @admin.action(description="Download the selected orders as CSV", permissions=["view"])
    def export_csv(self, request, queryset):
        return orders_csv_response(queryset.select_related("channel").order_by("id"))


def orders_csv_response(orders) -> HttpResponse:
    """Orders as a spreadsheet: amounts to the currency's minor unit beside the currency."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(
        ["number", "created_at", "channel", "email", "status", "payment_status",
         "fulfillment_status", "currency", "subtotal", "discount", "shipping", "tax", "total"]
    )  # fmt: skip
    for order in orders:
        writer.writerow(
            [
                order.number,
                order.created_at.isoformat(),
                order.channel.code,
                order.email,
                order.status,
                order.payment_status,
                order.fulfillment_status,
                order.currency,
                *(
                    money_plain(getattr(order, name), order.currency)
                    for name in ("subtotal", "discount", "shipping", "tax", "total")
                ),
            ]
        )
    response = HttpResponse(buffer.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="orders.csv"'
    return response


class CartLineInline(ReadOnlyInline):
    model = CartLine
    fields = ["variant", "quantity", "created_at"]
    readonly_fields = ["created_at"]


@admin.register(Cart)
class CartAdmin(ReadOnlyAdmin):
    """A customer's checkout in progress: staff read it; only the customer's channel changes it
    (through the checkout services, which keep its reservations right)."""

    list_display = ["__str__", "channel", "status", "email", "reserved_until", "created_at"]
    list_filter = ["status", "channel"]
    search_fields = ["id", "email"]
    inlines = [CartLineInline]
    fields = [
        "id",
        "channel",
        "status",
        "email",
        "phone",
        "delivery_address",
        "shipping_method",
        "voucher",
        "reserved_until",
        "created_at",
        "updated_at",
    ]

    @admin.display(description="delivery address")
    def delivery_address(self, cart: Cart) -> str:
        address = cart.shipping_address or {}
        return ", ".join(str(address[key]) for key in ADDRESS_FIELDS if address.get(key)) or "-"


class VoucherForm(forms.ModelForm):
    """The voucher page's form: what staff type goes as it is to the services
    (`voucher_create`, `voucher_update`), which check it and save; their refusals become
    the form's errors on the fields they name, in the admin API's words.

    The terms are plain text fields (an amount, a currency, a limit), so no check of the
    form's own comes first with other words. It is a ModelForm only because the admin's
    pages take one: none of the model's validation runs (`_post_clean`), since the service
    has the rules (the code's uniqueness under the row lock, ignoring case; the currency it
    fills in), and a refused form leaves `instance` as it was.
    """

    code = forms.CharField()
    kind = forms.ChoiceField(choices=Voucher.Kind.choices)
    value = forms.CharField(help_text=Voucher._meta.get_field("value").help_text)
    min_subtotal = forms.CharField(
        required=False, help_text=Voucher._meta.get_field("min_subtotal").help_text
    )
    currency = forms.CharField(
        required=False, help_text=Voucher._meta.get_field("currency").help_text
    )
    usage_limit = forms.CharField(required=False, help_text="Empty: no limit.")

    class Meta:
        model = Voucher
        fields = [
            "code", "kind", "value", "min_subtotal", "currency", "starts_at", "ends_at",
            "channels", "usage_limit", "active",
        ]  # fmt: skip

    saved: Voucher | None = None

    def clean_min_subtotal(self) -> str | None:
        return self.cleaned_data["min_subtotal"] or None

    def clean_usage_limit(self) -> object:
        limit = self.cleaned_data["usage_limit"].strip()
        return limit or None  # the text as typed: the service reads it (`_usage_limit`)

    def clean(self) -> dict:
        data = self.cleaned_data
        if self.errors:  # a field's own check refused it (one left blank): nothing is saved
            return data
        try:
            if self.instance.pk is None:
                self.saved = voucher_create(actor=self.actor, **data)
            else:
                edited = {name: data[name] for name in self.changed_data if name in data}
                self.saved = voucher_update(voucher=self.instance, actor=self.actor, **edited)
        except ValidationFailed as refused:
            for field, messages_ in refused.errors.items():
                for message in messages_:
                    self.add_error(field if field in self.fields else None, message)
            return data
        self.instance = self.saved
        return data

    def _post_clean(self) -> None:
        """No model validation: the service checked and saved (see the class's docstring)."""

    def save(self, commit: bool = True) -> Voucher:
        """The voucher as the service saved it (with its channels) when the form was checked."""
        if self.saved is None:
            raise ValueError("The voucher was not saved: the form did not validate.")
        self.save_m2m = lambda: None  # the service set the channels
        return self.saved


@admin.register(Voucher)
class VoucherAdmin(ScopedAdmin):
    """Vouchers: the add and change pages save through the set-up services, as the admin
    API does, so both keep one set of rules (an edit never writes `used_count`)."""

    form = VoucherForm
    list_display = ["code", "discount", "used_count", "usage_limit", "active", "ends_at"]
    list_filter = ["kind", "active", "channels"]
    search_fields = ["code"]
    readonly_fields = ["used_count", "created_at"]
    filter_horizontal = ["channels"]

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        return type(form.__name__, (form,), {"actor": f"staff:{request.user.get_username()}"})

    def save_model(self, request, obj: Voucher, form, change: bool) -> None:
        """Saved already, by the service, when the form was checked."""

    def save_related(self, request, form, formsets, change: bool) -> None:
        """The service set the channels; there are no inlines."""

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("channels")

    def has_add_permission(self, request) -> bool:
        """The role's permission, and a scope of every channel: the admin API's rule for
        voucher writes (`scope_reaches_every_channel`). Others with the view read them."""
        every = scope_reaches_every_channel(viewer_scope(request))
        return every and super().has_add_permission(request)

    def has_change_permission(self, request, obj=None) -> bool:
        every = scope_reaches_every_channel(viewer_scope(request))
        return every and super().has_change_permission(request, obj)

    @admin.display(description="discount", ordering="value")
    def discount(self, voucher: Voucher) -> str:
        if voucher.kind == Voucher.Kind.PERCENTAGE:
            return f"{voucher.value.normalize():f} %"
        return money_format(voucher.value, voucher.currency)


@admin.register(ShippingMethod)
class ShippingMethodAdmin(ScopedAdmin):
    list_display = ["name", "code", "channel", "kind", "cost", "free_from", "active"]
    list_filter = ["channel", "kind", "active"]
    search_fields = ["code", "name"]
    list_select_related = ["channel"]

    @admin.display(description="price", ordering="price")
    def cost(self, method: ShippingMethod) -> str:
        return money_format(method.price, method.channel.currency)

    @admin.display(description="free from", ordering="free_over")
    def free_from(self, method: ShippingMethod) -> str:
        if method.free_over is None:
            return "-"
        return money_format(method.free_over, method.channel.currency)


from orders import admin_channels  # noqa: E402, F401  (links, messages, couriers, sales report)
