"""Output shapes of till sales: the order with its receipt, bulk results, sales for staff."""

from __future__ import annotations

from decimal import Decimal

from rest_framework import serializers

from backoffice.money import money_dict
from backoffice.timefmt import rfc3339
from channels_api.fields import MoneyOutput
from channels_api.order_output import OrderLineOutput, StoreOrderOutput, order_data
from pos.models import PosSale
from pos.services import PosSaleResult


class ReceiptStoreOutput(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    address = serializers.DictField()


class ReceiptOutput(serializers.Serializer):
    number = serializers.CharField()
    store = ReceiptStoreOutput()
    lines = OrderLineOutput(many=True)
    subtotal = MoneyOutput()
    discount = MoneyOutput()
    tax = MoneyOutput()
    total = MoneyOutput()
    paid = MoneyOutput()
    method = serializers.CharField()
    issued_at = serializers.DateTimeField()


class PosSaleOutput(serializers.Serializer):
    order = StoreOrderOutput()
    receipt = ReceiptOutput()
    client_id = serializers.CharField(allow_null=True)
    replayed = serializers.BooleanField(help_text="True when this client_id was sold before.")


def receipt_data(result: PosSaleResult) -> dict:
    order, store = result.order, result.store
    data = order_data(order)
    payments = list(order.payments.all())
    paid = sum((p.captured_amount - p.refunded_amount for p in payments), Decimal(0))
    sold_at = result.sale.sold_at if result.sale else None
    return {
        "number": order.number,
        "store": {"code": store.code, "name": store.name, "address": store.address},
        "lines": data["lines"],
        "subtotal": data["subtotal"],
        "discount": data["discount"],
        "tax": data["tax"],
        "total": data["total"],
        "paid": money_dict(paid, order.currency),
        "method": payments[0].method if payments else "",
        "issued_at": rfc3339(sold_at or order.created_at),
    }


def pos_sale_data(result: PosSaleResult) -> dict:
    return {
        "order": order_data(result.order),
        "receipt": receipt_data(result),
        "client_id": result.sale.client_id if result.sale else None,
        "replayed": result.replayed,
    }


class OrderReferenceOutput(serializers.Serializer):
    id = serializers.CharField()
    number = serializers.CharField()
    token = serializers.CharField()


class BulkSaleResultOutput(serializers.Serializer):
    client_id = serializers.CharField()
    status = serializers.CharField(help_text="recorded or flagged (resolved: staff dealt with it)")
    replayed = serializers.BooleanField()
    reason = serializers.CharField()
    order = OrderReferenceOutput(allow_null=True)
    receipt = ReceiptOutput(allow_null=True)


def _order_reference(order) -> dict | None:
    if order is None:
        return None
    return {"id": str(order.pk), "number": order.number, "token": str(order.token)}


def bulk_result_data(result: PosSaleResult) -> dict:
    sale = result.sale
    return {
        "client_id": sale.client_id,
        "status": sale.status,
        "replayed": result.replayed,
        "reason": sale.reason,
        "order": _order_reference(result.order),
        "receipt": receipt_data(result) if result.order is not None and result.store else None,
    }


class AdminPosSaleOutput(serializers.Serializer):
    id = serializers.CharField()
    client_id = serializers.CharField()
    channel = serializers.CharField()
    store = serializers.CharField(allow_null=True)
    status = serializers.CharField()
    reason = serializers.CharField()
    order = OrderReferenceOutput(allow_null=True)
    sale = serializers.DictField(help_text="The sale as the till sent it.")
    sold_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()
    resolved_at = serializers.DateTimeField(allow_null=True)


def admin_pos_sale_data(sale: PosSale) -> dict:
    return {
        "id": str(sale.pk),
        "client_id": sale.client_id,
        "channel": sale.channel.code,
        "store": sale.store.code if sale.store_id else None,
        "status": sale.status,
        "reason": sale.reason,
        "order": _order_reference(sale.order),
        "sale": sale.payload,
        "sold_at": rfc3339(sale.sold_at),
        "created_at": rfc3339(sale.created_at),
        "resolved_at": rfc3339(sale.resolved_at),
    }
