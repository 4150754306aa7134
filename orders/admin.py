"""Django admin for orders, carts, vouchers and shipping methods; actions call the services."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages

from backoffice.exceptions import DomainError, ValidationFailed
from orders import services
from orders.delivery import order_shipping_problem
from orders.models import (
    Cart,
    CartLine,
    Order,
    OrderEvent,
    OrderLine,
    Payment,
    PaymentEvent,
    PaymentOperation,
    ShippingMethod,
    Voucher,
)
from orders.services.validation import address_clean


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


class OrderLineInline(ReadOnlyInline):
    model = OrderLine
    fields = [
        "sku",
        "name",
        "quantity",
        "unit_price",
        "total",
        "quantity_fulfilled",
        "quantity_returned",
    ]


class PaymentInline(ReadOnlyInline):
    model = Payment
    fields = [
        "provider",
        "method",
        "status",
        "amount",
        "captured_amount",
        "refunded_amount",
        "capture_method",
        "reference",
        "created_at",
    ]
    readonly_fields = ["created_at"]
    verbose_name_plural = "payments (reference: the PSP's, e.g. Stripe's PaymentIntent)"


class PaymentEventInline(ReadOnlyInline):
    """What the PSP said: webhooks, the client's confirm, reconciliation, and what it changed."""

    model = PaymentEvent
    fields = ["created_at", "provider", "source", "type", "state", "outcome", "event_id"]
    readonly_fields = ["created_at"]
    verbose_name_plural = "payment provider events"


class OrderEventInline(ReadOnlyInline):
    model = OrderEvent
    fields = ["created_at", "type", "actor", "data"]
    readonly_fields = ["created_at"]


def _staff(request) -> str:
    return f"staff:{request.user.get_username()}"


def _run_for_each(modeladmin, request, queryset, action, label: str) -> None:
    done = 0
    for order in queryset:
        try:
            action(order=order, actor=_staff(request))
            done += 1
        except DomainError as error:
            modeladmin.message_user(request, f"#{order.number}: {error.detail}", messages.ERROR)
    if done:
        modeladmin.message_user(request, f"{label} {done} order(s).")


class OrderForm(forms.ModelForm):
    """Staff may fix an order's contact and address; the address is checked as at checkout."""

    class Meta:
        model = Order
        fields = ["email", "phone", "shipping_address"]

    def clean_shipping_address(self) -> dict | None:
        try:
            return address_clean(self.cleaned_data["shipping_address"], field="shipping_address")
        except ValidationFailed as error:
            raise forms.ValidationError(
                [
                    f"{field}: {message}"
                    for field, texts in error.errors.items()
                    for message in texts
                ]
            ) from error


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    list_display = [
        "number",
        "channel",
        "status",
        "payment_status",
        "fulfillment_status",
        "email",
        "total",
        "currency",
        "created_at",
    ]
    list_filter = [
        "status",
        "payment_status",
        "fulfillment_status",
        "channel",
        "source",
        "created_at",
    ]
    search_fields = ["email", "phone", "token", "voucher_code"]
    list_select_related = ["channel"]
    date_hierarchy = "created_at"
    form = OrderForm
    inlines = [OrderLineInline, PaymentInline, PaymentEventInline, OrderEventInline]
    actions = ["cancel_orders", "capture_payments", "refund_payments"]
    readonly_fields = [
        "shipping_problem",
        "number",
        "token",
        "channel",
        "cart",
        "status",
        "payment_status",
        "fulfillment_status",
        "currency",
        "subtotal",
        "shipping",
        "discount",
        "tax",
        "total",
        "tax_rate",
        "prices_include_tax",
        "voucher",
        "voucher_code",
        "shipping_method",
        "shipping_method_name",
        "source",
        "attribution",
        "placed_by",
        "created_at",
        "updated_at",
        "cancelled_at",
        "payment_due_at",
        "payment_operations",
    ]
    fields = [
        "number",
        "token",
        "channel",
        "status",
        "payment_status",
        "fulfillment_status",
        "email",
        "phone",
        "shipping_address",
        "shipping_problem",
        "shipping_method_name",
        "voucher_code",
        "currency",
        "subtotal",
        "shipping",
        "discount",
        "tax",
        "total",
        "source",
        "attribution",
        "placed_by",
        "cart",
        "created_at",
        "cancelled_at",
        "payment_due_at",
        "payment_operations",
    ]

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description="Captures, refunds and voids asked of the provider")
    def payment_operations(self, order: Order) -> str:
        operations = PaymentOperation.objects.filter(payment__order=order).select_related("payment")
        return (
            "; ".join(
                f"{o.kind} {o.amount} {o.payment.currency} via {o.payment.provider}: {o.status}"
                f"{f' ({o.reference})' if o.reference else ''}{f' - {o.error}' if o.error else ''}"
                for o in operations
            )
            or "None."
        )

    @admin.display(description="Can it ship?")
    def shipping_problem(self, order: Order) -> str:
        return order_shipping_problem(order) or "Yes."

    def get_search_results(self, request, queryset, search_term):
        queryset, distinct = super().get_search_results(request, queryset, search_term)
        from orders.selectors import order_search

        if search_term.strip().lstrip("#").isdigit():
            queryset = queryset | order_search(self.model.objects.all(), search_term)
        return queryset, distinct

    @admin.action(description="Cancel (release stock, refund what was paid)")
    def cancel_orders(self, request, queryset) -> None:
        _run_for_each(self, request, queryset, services.order_cancel, "Cancelled")

    @admin.action(description="Capture payment (or record a cash payment)")
    def capture_payments(self, request, queryset) -> None:
        _run_for_each(self, request, queryset, services.order_capture, "Captured")

    @admin.action(description="Refund everything refundable (through the payment's provider)")
    def refund_payments(self, request, queryset) -> None:
        _run_for_each(self, request, queryset, services.order_refund, "Refunded")


class CartLineInline(ReadOnlyInline):
    model = CartLine
    fields = ["variant", "quantity", "created_at"]
    readonly_fields = ["created_at"]


@admin.register(Cart)
class CartAdmin(admin.ModelAdmin):
    list_display = ["id", "channel", "status", "email", "reserved_until", "created_at"]
    list_filter = ["status", "channel"]
    search_fields = ["id", "email"]
    inlines = [CartLineInline]
    readonly_fields = ["id", "channel", "status", "reserved_until", "attribution", "created_at"]

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(Voucher)
class VoucherAdmin(admin.ModelAdmin):
    list_display = ["code", "kind", "value", "used_count", "usage_limit", "active", "ends_at"]
    list_filter = ["kind", "active", "channels"]
    search_fields = ["code"]
    readonly_fields = ["used_count", "created_at"]
    filter_horizontal = ["channels"]


@admin.register(ShippingMethod)
class ShippingMethodAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "channel", "kind", "price", "free_over", "active"]
    list_filter = ["channel", "kind", "active"]
    search_fields = ["code", "name"]


from orders import admin_channels  # noqa: E402, F401  (links, messages, couriers, sales report)
