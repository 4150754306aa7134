"""Store views for the point of sale: one sale at the till, or offline sales in bulk."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response

from catalog.models import Channel
from channels_api.fields import EMAIL_MAX_LENGTH
from channels_api.idempotency import idempotent
from channels_api.pos_output import (
    BulkSaleResultOutput,
    PosSaleOutput,
    bulk_result_data,
    pos_sale_data,
)
from channels_api.schema import raises
from channels_api.store.checkout_serializers import LinesField, to_lines
from channels_api.store.views import StoreView
from inventory.errors import InsufficientStock, StockConflict
from pos.errors import PosSaleNotRecorded
from pos.services import PAYMENT_METHODS, PosSaleInput, pos_sale_record, pos_sales_bulk_record

TAGS = ["store: point of sale"]
BULK_MAX = 500


class PosPaymentInput(serializers.Serializer):
    provider = serializers.ChoiceField(choices=["manual"])
    method = serializers.ChoiceField(choices=PAYMENT_METHODS, default="cash")
    reference = serializers.CharField(max_length=200, required=False)


class PosSaleRequest(serializers.Serializer):
    lines = LinesField()
    payment = PosPaymentInput()
    store = serializers.CharField(max_length=50, required=False, allow_null=True, default=None)
    client_id = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    email = serializers.EmailField(
        max_length=EMAIL_MAX_LENGTH, required=False, allow_blank=True, default=""
    )
    sold_at = serializers.DateTimeField(required=False, allow_null=True, default=None)

    def to_input(self) -> PosSaleInput:
        return sale_input(self.validated_data)


def sale_input(validated: dict) -> PosSaleInput:
    """The service's input; `raw` keeps the validated sale as JSON, for staff to read."""
    data = dict(validated)
    raw = {
        **data,
        "lines": [dict(line) for line in data["lines"]],
        "payment": dict(data["payment"]),
        "sold_at": data["sold_at"].isoformat() if data["sold_at"] else None,
    }
    data["lines"] = to_lines(data["lines"])
    data["payment"] = dict(data["payment"])
    return PosSaleInput(raw=raw, **data)


class OfflineSaleRequest(PosSaleRequest):
    client_id = serializers.CharField(max_length=100, help_text="The till's id of the sale.")


class BulkSalesRequest(serializers.Serializer):
    sales = serializers.ListField(child=OfflineSaleRequest(), min_length=1, max_length=BULK_MAX)


class BulkSalesOutput(serializers.Serializer):
    results = BulkSaleResultOutput(many=True)


class PosView(StoreView):
    pagination_class = None

    def initial(self, request: Request, *args, **kwargs) -> None:
        super().initial(request, *args, **kwargs)
        if self.channel.kind != Channel.Kind.POS:
            raise PermissionDenied("This endpoint is for point-of-sale channels.")


class PosSaleView(PosView):
    @extend_schema(
        operation_id="store_pos_sales_create",
        tags=TAGS,
        request=PosSaleRequest,
        responses={
            201: PosSaleOutput,
            200: PosSaleOutput,
        },
    )
    @raises(InsufficientStock, StockConflict, PosSaleNotRecorded)
    @idempotent
    def post(self, request: Request) -> Response:
        """Record a sale at the till.

        Paid with `manual` (cash or card terminal), the order is placed, picked up, fulfilled and
        completed at once from the store's stock, and `order.created` is sent to webhooks. A repeat
        with the same `client_id` answers 200 with the first sale and records nothing new, also when
        the first came in an offline upload, at the same moment too; one that an upload flagged
        answers 409 `pos_sale_not_recorded` with its `sale_status` and `reason`. Needs a
        point-of-sale channel's key.
        """
        payload = PosSaleRequest(data=request.data)
        payload.is_valid(raise_exception=True)
        result = pos_sale_record(
            channel=self.channel, data=payload.to_input(), actor=request.auth.actor
        )
        code = status.HTTP_200_OK if result.replayed else status.HTTP_201_CREATED
        return Response(pos_sale_data(result), status=code)


class PosSaleBulkView(PosView):
    @extend_schema(
        operation_id="store_pos_sales_bulk",
        tags=TAGS,
        request=BulkSalesRequest,
        responses={200: BulkSalesOutput},
    )
    @idempotent
    def post(self, request: Request) -> Response:
        """Record offline till sales in bulk.

        Each sale is processed once by its `client_id` (a repeat answers its first result), all of
        them in one transaction. A sale that can no longer be made (sold out meanwhile) is recorded
        as `flagged` for staff instead of refused; the others go on. Needs a point-of-sale
        channel's key.
        """
        payload = BulkSalesRequest(data=request.data)
        payload.is_valid(raise_exception=True)
        inputs = [sale_input(sale) for sale in payload.validated_data["sales"]]
        results = pos_sales_bulk_record(
            channel=self.channel, sales=inputs, actor=request.auth.actor
        )
        return Response({"results": [bulk_result_data(result) for result in results]})
