"""Admin shapes for orders (with payments and events), vouchers and shipping methods."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from backoffice.fields import COUNT_MAX
from backoffice.money import money_dict, money_plain
from backoffice.timefmt import rfc3339
from catalog.models import Channel
from channels_api.admin_api.fulfillment_serializers import FulfillmentOutput, fulfillment_data
from channels_api.fields import AmountInput, MoneyOutput
from channels_api.order_output import StoreOrderOutput, order_data
from orders.models import Order, ShippingMethod, Voucher
from orders.services.setup import USAGE_LIMIT_MIN


class PaymentEventOutput(serializers.Serializer):
    """Something the PSP said about the payment (a webhook, a read-back)."""

    type = serializers.CharField(help_text="e.g. `payment_intent.succeeded`")
    source = serializers.CharField(help_text="`webhook`, `confirm` or `reconcile`")
    event_id = serializers.CharField(help_text="The PSP's event id (webhooks)")
    state = serializers.CharField(help_text="The session's state at the PSP")
    outcome = serializers.CharField(help_text="What it changed here")
    created_at = serializers.DateTimeField()


class PaymentOperationOutput(serializers.Serializer):
    """A capture, refund or cancel asked of the PSP, with the idempotency key it was given."""

    kind = serializers.CharField()
    status = serializers.CharField(help_text="`pending` until the PSP's answer is in")
    amount = MoneyOutput()
    reference = serializers.CharField()
    attempts = serializers.IntegerField()
    error = serializers.CharField()
    created_at = serializers.DateTimeField()


class PaymentOutput(serializers.Serializer):
    id = serializers.CharField()
    provider = serializers.CharField()
    method = serializers.CharField()
    status = serializers.CharField()
    capture_method = serializers.CharField()
    amount = MoneyOutput()
    captured = MoneyOutput()
    refunded = MoneyOutput()
    reference = serializers.CharField(help_text="The PSP's reference (Stripe: the PaymentIntent)")
    events = PaymentEventOutput(many=True)
    operations = PaymentOperationOutput(many=True)
    created_at = serializers.DateTimeField()


class EventOutput(serializers.Serializer):
    id = serializers.CharField()
    type = serializers.CharField()
    actor = serializers.CharField()
    data = serializers.DictField()
    created_at = serializers.DateTimeField()


class AdminOrderOutput(StoreOrderOutput):
    payments = PaymentOutput(many=True)
    events = EventOutput(many=True)
    placed_by = serializers.CharField()
    source = serializers.CharField()
    attribution = serializers.DictField()
    cart = serializers.CharField(allow_null=True)
    cancelled_at = serializers.DateTimeField(allow_null=True)
    fulfillments = FulfillmentOutput(many=True)


def admin_order_data(order: Order, *, detail: bool = True) -> dict:
    events = list(order.events.all()) if detail else []
    data = order_data(
        order,
        events=events,
        tracking=None if detail else [],
        **({} if detail else {"delivery": None}),
    )
    if not detail:
        data.pop("timeline")
        data.pop("tracking")
        data.pop("delivery")
        return data
    currency = order.currency
    data.update(
        {
            "payments": [
                {
                    "id": str(p.pk),
                    "provider": p.provider,
                    "method": p.method,
                    "status": p.status,
                    "amount": money_dict(p.amount, currency),
                    "captured": money_dict(p.captured_amount, currency),
                    "refunded": money_dict(p.refunded_amount, currency),
                    "reference": p.reference,
                    "capture_method": p.capture_method,
                    "events": [
                        {
                            "type": e.type,
                            "source": e.source,
                            "event_id": e.event_id,
                            "state": e.state,
                            "outcome": e.outcome,
                            "created_at": rfc3339(e.created_at),
                        }
                        for e in p.events.all()
                    ],
                    "operations": [
                        {
                            "kind": o.kind,
                            "status": o.status,
                            "amount": money_dict(o.amount, currency),
                            "reference": o.reference,
                            "attempts": o.attempts,
                            "error": o.error,
                            "created_at": rfc3339(o.created_at),
                        }
                        for o in p.operations.all()
                    ],
                    "created_at": rfc3339(p.created_at),
                }
                for p in order.payments.prefetch_related("events", "operations")
            ],
            "events": [
                {
                    "id": str(e.pk),
                    "type": e.type,
                    "actor": e.actor,
                    "data": e.data,
                    "created_at": rfc3339(e.created_at),
                }
                for e in events
            ],
            "placed_by": order.placed_by,
            "source": order.source,
            "attribution": order.attribution,
            "cart": str(order.cart_id) if order.cart_id else None,
            "cancelled_at": rfc3339(order.cancelled_at),
            "fulfillments": [
                fulfillment_data(f)
                for f in order.fulfillments.select_related("warehouse").prefetch_related(
                    "lines__order_line"
                )
            ],
        }
    )
    return data


class CaptureInput(serializers.Serializer):
    method = serializers.ChoiceField(
        choices=["cash", "card_terminal", "bank_transfer", "other"],
        default="cash",
        help_text="When no authorization exists.",
    )
    reference = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    amount = AmountInput(
        required=False,
        help_text="Capture part of an authorization (the rest is released); default: all of it.",
    )


class RefundInput(serializers.Serializer):
    amount = AmountInput(required=False, help_text="Default: everything refundable.")
    reason = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class CancelInput(serializers.Serializer):
    reason = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class NoteInput(serializers.Serializer):
    note = serializers.CharField(max_length=5000)


@extend_schema_field(
    {"type": "integer", "minimum": USAGE_LIMIT_MIN, "maximum": COUNT_MAX, "nullable": True}
)
class UsageLimitInput(serializers.Field):
    """A voucher's usage limit, handed as sent to the voucher service: what a whole number
    is and its bounds are the service's rule (`orders.services.setup._usage_limit`),
    refused in its words, as on the Django admin's voucher page."""

    def to_internal_value(self, data: object) -> object:
        return data

    def to_representation(self, value: object) -> object:
        return value


@extend_schema_field({"type": "string", "example": "12.50"})
class VoucherValue(serializers.Field):
    """A voucher's value as a decimal string: a percentage to `Voucher.PERCENT_PLACES`
    ("12.50"), a fixed amount to its currency's minor unit ("2.50" USD, "500" JPY)."""

    def __init__(self, **kwargs) -> None:
        super().__init__(source="*", read_only=True, **kwargs)

    def to_representation(self, voucher: Voucher) -> str:
        if voucher.kind == Voucher.Kind.PERCENTAGE:
            return str(voucher.value.quantize(Voucher.PERCENT_STEP))
        return money_plain(voucher.value, voucher.currency)


@extend_schema_field({"type": "string", "nullable": True, "example": "50.00"})
class VoucherMinimum(serializers.Field):
    """A voucher's minimum subtotal to its currency's minor unit, or null."""

    def __init__(self, **kwargs) -> None:
        super().__init__(source="*", read_only=True, **kwargs)

    def to_representation(self, voucher: Voucher) -> str | None:
        if voucher.min_subtotal is None:
            return None
        return money_plain(voucher.min_subtotal, voucher.currency)


class VoucherOutput(serializers.ModelSerializer):
    channels = serializers.SlugRelatedField(slug_field="code", many=True, read_only=True)
    value = VoucherValue()
    min_subtotal = VoucherMinimum()
    currency = serializers.SerializerMethodField(
        help_text="Of the fixed amount and the minimum subtotal: the voucher applies only in "
        "channels of this currency. Null for a percentage with no minimum (any channel)."
    )

    class Meta:
        model = Voucher
        fields = [
            "code",
            "kind",
            "value",
            "min_subtotal",
            "currency",
            "starts_at",
            "ends_at",
            "channels",
            "usage_limit",
            "used_count",
            "active",
            "created_at",
        ]

    def get_currency(self, voucher: Voucher) -> str | None:
        return voucher.currency or None


class VoucherInput(serializers.Serializer):
    code = serializers.RegexField(r"^[A-Za-z0-9_-]{2,50}$")
    kind = serializers.ChoiceField(choices=Voucher.Kind.choices)
    value = AmountInput()
    min_subtotal = AmountInput(required=False, allow_null=True)
    currency = serializers.CharField(
        max_length=3,
        required=False,
        allow_null=True,
        allow_blank=True,
        help_text="ISO 4217, of `value` (fixed) and `min_subtotal`. Left out: the channels' "
        "one currency, or the default currency for a voucher of every channel.",
    )
    starts_at = serializers.DateTimeField(required=False, allow_null=True)
    ends_at = serializers.DateTimeField(required=False, allow_null=True)
    channels = serializers.SlugRelatedField(
        slug_field="code", many=True, required=False, queryset=Channel.objects.all()
    )
    usage_limit = UsageLimitInput(required=False, allow_null=True)
    active = serializers.BooleanField(default=True)


class VoucherPatchInput(VoucherInput):
    """A voucher edit: any of the create's fields; what is not sent stays as it is. The
    uses counted (`used_count`) are the checkouts' alone: sending it is refused."""

    SERVER_OWNED = ("used_count", "created_at")

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, partial=True, **kwargs)  # partial: no defaults either

    def validate(self, attrs: dict) -> dict:
        sent = self.initial_data if isinstance(self.initial_data, dict) else {}
        owned = {
            name: ["Set by the server; not accepted."] for name in self.SERVER_OWNED if name in sent
        }
        if owned:
            raise serializers.ValidationError(owned)
        return attrs


class ShippingMethodAdminOutput(serializers.ModelSerializer):
    channel = serializers.CharField(source="channel.code")
    price = serializers.SerializerMethodField()
    free_over = serializers.SerializerMethodField()
    pickup_warehouse = serializers.CharField(source="pickup_warehouse.code", allow_null=True)

    class Meta:
        model = ShippingMethod
        fields = [
            "id",
            "channel",
            "code",
            "name",
            "kind",
            "price",
            "free_over",
            "pickup_warehouse",
            "active",
        ]

    def get_price(self, method: ShippingMethod) -> dict:
        return money_dict(method.price, method.channel.currency)

    def get_free_over(self, method: ShippingMethod) -> dict | None:
        if method.free_over is None:
            return None
        return money_dict(method.free_over, method.channel.currency)


class ShippingMethodInput(serializers.Serializer):
    channel = serializers.CharField(max_length=50)
    code = serializers.RegexField(r"^[a-z0-9][a-z0-9_-]{0,49}$")
    name = serializers.CharField(max_length=200)
    kind = serializers.ChoiceField(
        choices=ShippingMethod.Kind.choices, default=ShippingMethod.Kind.FLAT_RATE
    )
    price = AmountInput(default="0")
    free_over = AmountInput(required=False, allow_null=True)
    pickup_warehouse = serializers.CharField(max_length=50, required=False, allow_null=True)
    active = serializers.BooleanField(default=True)
