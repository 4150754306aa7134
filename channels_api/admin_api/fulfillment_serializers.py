"""Admin shapes for fulfillments and returns."""

from __future__ import annotations

from rest_framework import serializers

from backoffice.money import money_dict
from backoffice.timefmt import rfc3339
from channels_api.fields import MoneyOutput
from fulfillment.models import Fulfillment, Return


class FulfillmentLineOutput(serializers.Serializer):
    sku = serializers.CharField()
    quantity = serializers.IntegerField()


class FulfillmentOutput(serializers.Serializer):
    """Schema of a fulfillment; `fulfillment_data` builds it."""

    id = serializers.CharField()
    order = serializers.CharField()
    warehouse = serializers.CharField()
    status = serializers.CharField()
    carrier = serializers.CharField()
    tracking_number = serializers.CharField()
    tracking_url = serializers.CharField()
    lines = FulfillmentLineOutput(many=True)
    created_at = serializers.DateTimeField()
    packed_at = serializers.DateTimeField(allow_null=True)
    shipped_at = serializers.DateTimeField(allow_null=True)
    delivered_at = serializers.DateTimeField(allow_null=True)
    cancelled_at = serializers.DateTimeField(allow_null=True)


def fulfillment_data(fulfillment: Fulfillment) -> dict:
    return {
        "id": str(fulfillment.pk),
        "order": str(fulfillment.order_id),
        "warehouse": fulfillment.warehouse.code,
        "status": fulfillment.status,
        "carrier": fulfillment.carrier,
        "tracking_number": fulfillment.tracking_number,
        "tracking_url": fulfillment.tracking_url,
        "lines": [
            {"sku": line.order_line.sku, "quantity": line.quantity}
            for line in fulfillment.lines.all()
        ],
        "created_at": rfc3339(fulfillment.created_at),
        "packed_at": rfc3339(fulfillment.packed_at),
        "shipped_at": rfc3339(fulfillment.shipped_at),
        "delivered_at": rfc3339(fulfillment.delivered_at),
        "cancelled_at": rfc3339(fulfillment.cancelled_at),
    }


class FulfillmentListOutput(serializers.Serializer):
    results = FulfillmentOutput(many=True)
    next = serializers.CharField(allow_null=True)


class FulfillmentLineInput(serializers.Serializer):
    sku = serializers.CharField(max_length=64)
    quantity = serializers.IntegerField(min_value=1, max_value=100000)


class FulfillmentCreateInput(serializers.Serializer):
    warehouse = serializers.CharField(max_length=50, required=False, allow_null=True)
    lines = FulfillmentLineInput(many=True, required=False, allow_null=True, max_length=500)


class ShipInput(serializers.Serializer):
    carrier = serializers.CharField(max_length=100)
    tracking_number = serializers.CharField(max_length=100)
    tracking_url = serializers.URLField(
        max_length=500, required=False, allow_blank=True, default=""
    )


class ReturnInput(serializers.Serializer):
    lines = FulfillmentLineInput(many=True, min_length=1, max_length=500)
    reason = serializers.CharField(max_length=500)
    restock = serializers.BooleanField(default=True)
    warehouse = serializers.CharField(max_length=50, required=False, allow_null=True)
    refund = serializers.BooleanField(default=True)


class ReturnOutput(serializers.Serializer):
    id = serializers.CharField()
    order = serializers.CharField()
    reason = serializers.CharField()
    restock = serializers.BooleanField()
    warehouse = serializers.CharField(allow_null=True)
    refund = MoneyOutput()
    lines = FulfillmentLineOutput(many=True)
    created_at = serializers.DateTimeField()


def return_data(record: Return) -> dict:
    currency = record.order.currency
    return {
        "id": str(record.pk),
        "order": str(record.order_id),
        "reason": record.reason,
        "restock": record.restock,
        "warehouse": record.warehouse.code if record.warehouse_id else None,
        "refund": money_dict(record.refund_amount, currency),
        "lines": [
            {"sku": line.order_line.sku, "quantity": line.quantity} for line in record.lines.all()
        ],
        "created_at": rfc3339(record.created_at),
    }
