"""Admin views for warehouses, stock levels, stock changes and the stock ledger.

A channel-limited secret key sees, and may change stock in, only the warehouses
serving its channel; others do not exist for it. Creating or changing
warehouses needs an unrestricted key.
"""

from __future__ import annotations

import django_filters
from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from backoffice.exceptions import ValidationFailed
from catalog.models import Channel, ProductVariant
from catalog.selectors import variant_list_admin
from channels_api.admin_api.base import AdminView
from channels_api.admin_api.inventory_serializers import (
    StockAdjustmentInput,
    StockBulkInput,
    StockBulkItemInput,
    StockBulkOutput,
    StockLevelOutput,
    StockMovementOutput,
    StockSetInput,
    StockTransferInput,
    StockTransferOutput,
    WarehouseInput,
    WarehouseOutput,
    WarehouseUpdateInput,
    bulk_item_invalid,
    bulk_item_result,
)
from channels_api.idempotency import idempotent
from channels_api.schema import raises
from inventory.codes import code_is
from inventory.errors import StockConflict
from inventory.models import StockLevel, StockMovement, Warehouse
from inventory.selectors import (
    stock_level_filter_low,
    stock_level_get,
    stock_level_list,
    stock_movement_list,
    warehouse_get,
    warehouse_list,
)
from inventory.services import (
    stock_change_apply,
    stock_changes_apply,
    stock_set_on_hand,
    stock_transfer,
    warehouse_create,
    warehouse_update,
)

TAGS = ["admin: inventory"]


def _channels(codes: list[str]) -> list[Channel]:
    """Channel codes to channels, in the given order; unknown codes are a 400."""
    found = {channel.code: channel for channel in Channel.objects.filter(code__in=codes)}
    unknown = [code for code in codes if code not in found]
    if unknown:
        raise ValidationFailed({"channels": [f"Unknown channel '{code}'." for code in unknown]})
    return [found[code] for code in codes]


class WarehouseFilter(django_filters.FilterSet):
    kind = django_filters.ChoiceFilter(choices=Warehouse.Kind.choices)
    active = django_filters.BooleanFilter()
    channel = django_filters.CharFilter(
        field_name="warehousechannel__channel__code", max_length=50, distinct=True
    )

    class Meta:
        model = Warehouse
        fields: list[str] = []


class WarehouseViewMixin:
    serializer_class = WarehouseOutput
    queryset = Warehouse.objects.none()  # the model, for the schema; get_queryset() serves

    def get_queryset(self):
        return warehouse_list(scope=self.scope)

    def output(self, warehouse: Warehouse) -> dict:
        warehouse = warehouse_list().get(pk=warehouse.pk)
        return WarehouseOutput(warehouse, context={"limited_channel": self.limited_channel}).data


class WarehouseListView(WarehouseViewMixin, AdminView):
    filterset_class = WarehouseFilter

    @extend_schema(
        operation_id="admin_warehouses_list", tags=TAGS, responses=WarehouseOutput(many=True)
    )
    def get(self, request: Request) -> Response:
        """List warehouses and stores.

        A key limited to one channel sees only those serving it. Reads only.
        """
        warehouses = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        context = {"limited_channel": self.limited_channel}
        return self.get_paginated_response(
            WarehouseOutput(warehouses, many=True, context=context).data
        )

    @extend_schema(
        operation_id="admin_warehouses_create",
        tags=TAGS,
        request=WarehouseInput,
        responses={201: WarehouseOutput},
    )
    @idempotent
    def post(self, request: Request) -> Response:
        """Create a warehouse or store.

        `code` is kept as typed and unique regardless of case; `channels` are the channels it sells
        for. Needs a key not limited to one channel.
        """
        self.require_unrestricted()
        payload = WarehouseInput(data=request.data)
        payload.is_valid(raise_exception=True)
        data = dict(payload.validated_data)
        channels = _channels(data.pop("channels"))
        warehouse = warehouse_create(**data, channels=channels)
        return Response(self.output(warehouse), status=status.HTTP_201_CREATED)


class WarehouseDetailView(WarehouseViewMixin, AdminView):
    pagination_class = None

    def get_object(self, code: str) -> Warehouse:
        warehouse = warehouse_get(code=code, scope=self.scope)
        if warehouse is None:
            raise Http404
        return warehouse

    @extend_schema(operation_id="admin_warehouses_retrieve", tags=TAGS)
    def get(self, request: Request, code: str) -> Response:
        """Get a warehouse by code (any case).

        Reads only.
        """
        return Response(self.output(self.get_object(code)))

    @extend_schema(
        operation_id="admin_warehouses_update",
        tags=TAGS,
        request=WarehouseUpdateInput,
        responses={200: WarehouseOutput},
    )
    def patch(self, request: Request, code: str) -> Response:
        """Change a warehouse's name, kind, channels or active flag.

        Needs a key not limited to one channel.
        """
        self.require_unrestricted()
        warehouse = self.get_object(code)
        payload = WarehouseUpdateInput(data=request.data, partial=True)
        payload.is_valid(raise_exception=True)
        fields = dict(payload.validated_data)
        codes = fields.pop("channels", None)
        channels = None if codes is None else _channels(codes)
        warehouse = warehouse_update(warehouse=warehouse, fields=fields, channels=channels)
        return Response(self.output(warehouse))


def filter_warehouse_code(queryset, name: str, value: str):
    """`?warehouse=`: the warehouse's code in any case."""
    return queryset.filter(code_is(value, name))


class StockLevelFilter(django_filters.FilterSet):
    sku = django_filters.CharFilter(field_name="variant__sku", lookup_expr="iexact", max_length=64)
    warehouse = django_filters.CharFilter(
        field_name="warehouse__code", method=filter_warehouse_code, max_length=50
    )
    low = django_filters.BooleanFilter(
        method="filter_low", help_text="true: available below the variant's low-stock threshold."
    )

    class Meta:
        model = StockLevel
        fields: list[str] = []

    def filter_low(self, queryset, name, value):
        low = stock_level_filter_low(queryset)
        return low if value else queryset.exclude(pk__in=low.values("pk"))


class StockLevelListView(AdminView):
    serializer_class = StockLevelOutput
    queryset = StockLevel.objects.none()  # the model, for the schema; get_queryset() serves
    filterset_class = StockLevelFilter

    def get_queryset(self):
        return stock_level_list(scope=self.scope)

    @extend_schema(
        operation_id="admin_stock_list", tags=TAGS, responses=StockLevelOutput(many=True)
    )
    def get(self, request: Request) -> Response:
        """List stock levels.

        Per SKU and warehouse: `on_hand`, `allocated` (to orders), `reserved` (by carts and links)
        and `available`. Filter by `sku`, `warehouse` or `low`. Reads only.
        """
        levels = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(StockLevelOutput(levels, many=True).data)


class StockLevelDetailView(AdminView):
    serializer_class = StockLevelOutput
    pagination_class = None

    def get_target(self, warehouse_code: str, sku: str) -> tuple[Warehouse, ProductVariant]:
        warehouse = warehouse_get(code=warehouse_code, scope=self.scope)
        variant = variant_list_admin(scope=self.scope).filter(sku=sku).first()
        if warehouse is None or variant is None:
            raise Http404
        return warehouse, variant

    @extend_schema(operation_id="admin_stock_retrieve", tags=TAGS)
    def get(self, request: Request, warehouse_code: str, sku: str) -> Response:
        """Get the stock of one SKU in one warehouse.

        Reads only.
        """
        warehouse, variant = self.get_target(warehouse_code, sku)
        level = stock_level_get(variant_id=variant.pk, warehouse_id=warehouse.pk)
        if level is None:
            raise Http404
        return Response(StockLevelOutput(level).data)

    @extend_schema(
        operation_id="admin_stock_set",
        tags=TAGS,
        request=StockSetInput,
        responses={200: StockLevelOutput},
    )
    @raises(StockConflict)
    def put(self, request: Request, warehouse_code: str, sku: str) -> Response:
        """Set the counted quantity of a SKU in a warehouse (a stocktake).

        `on_hand` becomes the count and the ledger records the difference. 409 `stock_conflict` when
        the count is below what orders and carts already hold. May send `stock.low` to webhooks.
        """
        warehouse, variant = self.get_target(warehouse_code, sku)
        payload = StockSetInput(data=request.data)
        payload.is_valid(raise_exception=True)
        stock_set_on_hand(
            variant=variant,
            warehouse=warehouse,
            on_hand=payload.validated_data["on_hand"],
            actor=request.auth.actor,
            note=payload.validated_data["reason"],
            reference=payload.validated_data["reference"],
        )
        level = stock_level_get(variant_id=variant.pk, warehouse_id=warehouse.pk)
        return Response(StockLevelOutput(level).data)


class StockAdjustmentView(AdminView):
    serializer_class = StockMovementOutput

    @extend_schema(
        operation_id="admin_stock_adjust",
        tags=TAGS,
        request=StockAdjustmentInput,
        responses={201: StockMovementOutput},
    )
    @raises(StockConflict)
    @idempotent
    def post(self, request: Request) -> Response:
        """Add or remove units of a SKU in a warehouse.

        `delta` units in (positive) or out (negative), with a free-text `reason` kept in the ledger
        line. 409 `stock_conflict` when removing units that orders or carts hold. May send
        `stock.low` to webhooks.
        """
        payload = StockAdjustmentInput(data=request.data)
        payload.is_valid(raise_exception=True)
        result = stock_change_apply(
            change=payload.to_change(), actor=request.auth.actor, scope=self.scope
        )
        movement = stock_movement_list().get(pk=result.movement.pk)
        return Response(StockMovementOutput(movement).data, status=status.HTTP_201_CREATED)


class StockTransferView(AdminView):
    serializer_class = StockTransferOutput

    @extend_schema(
        operation_id="admin_stock_transfer",
        tags=TAGS,
        request=StockTransferInput,
        responses={201: StockTransferOutput},
    )
    @raises(StockConflict)
    @idempotent
    def post(self, request: Request) -> Response:
        """Move units of a SKU from one warehouse to another.

        Only units nobody holds move: a `transfer` line leaves `source` and one enters
        `destination` in the ledger, sharing one `reference`. 409 `stock_conflict` when
        orders or carts hold the units; a channel-limited key names only the warehouses
        serving its channel. May send `stock.low` to webhooks.
        """
        payload = StockTransferInput(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        variant = ProductVariant.objects.filter(sku=data["sku"]).first()
        source = warehouse_get(code=data["source"], scope=self.scope)
        destination = warehouse_get(code=data["destination"], scope=self.scope)
        errors = {
            name: [message]
            for name, missing, message in (
                ("sku", variant is None, f"Unknown SKU '{data['sku']}'."),
                ("source", source is None, f"Unknown warehouse '{data['source']}'."),
                ("destination", destination is None, f"Unknown warehouse '{data['destination']}'."),
            )
            if missing
        }
        if errors:
            raise ValidationFailed(errors)
        transfer = stock_transfer(
            variant=variant,
            source=source,
            destination=destination,
            quantity=data["quantity"],
            actor=request.auth.actor,
            note=data["note"],
        )
        movements = stock_movement_list().in_bulk([transfer.out.pk, transfer.into.pk])
        body = {
            "reference": transfer.reference,
            "out": StockMovementOutput(movements[transfer.out.pk]).data,
            "into": StockMovementOutput(movements[transfer.into.pk]).data,
        }
        return Response(body, status=status.HTTP_201_CREATED)


class StockBulkView(AdminView):
    serializer_class = StockBulkOutput

    @extend_schema(
        operation_id="admin_stock_bulk",
        tags=TAGS,
        request=StockBulkInput,
        responses={200: StockBulkOutput},
    )
    @idempotent
    def post(self, request: Request) -> Response:
        """Set or adjust many stock levels (an ERP or POS sync).

        Each item is applied on its own and answered in `results` in the same order: one refused
        item does not undo the others.
        """
        payload = StockBulkInput(data=request.data)
        payload.is_valid(raise_exception=True)
        results: list[dict | None] = []
        valid: list[tuple[int, StockBulkItemInput]] = []
        for index, raw in enumerate(payload.validated_data["items"]):
            item = StockBulkItemInput(data=raw)
            if item.is_valid():
                valid.append((index, item))
                results.append(None)
            else:
                results.append(bulk_item_invalid(index, raw, item.errors))
        applied = stock_changes_apply(
            changes=[item.to_change() for _, item in valid],
            actor=request.auth.actor,
            scope=self.scope,
        )
        for (index, _), result in zip(valid, applied, strict=True):
            results[index] = bulk_item_result(index, result)
        return Response({"results": results})


class StockMovementFilter(django_filters.FilterSet):
    sku = django_filters.CharFilter(
        field_name="stock_level__variant__sku", lookup_expr="iexact", max_length=64
    )
    warehouse = django_filters.CharFilter(
        field_name="stock_level__warehouse__code", method=filter_warehouse_code, max_length=50
    )
    reason = django_filters.ChoiceFilter(choices=StockMovement.Reason.choices)
    reference = django_filters.CharFilter(max_length=100)
    created_after = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="lt")

    class Meta:
        model = StockMovement
        fields: list[str] = []


class StockMovementListView(AdminView):
    serializer_class = StockMovementOutput
    queryset = StockMovement.objects.none()  # the model, for the schema; get_queryset() serves
    filterset_class = StockMovementFilter

    def get_queryset(self):
        return stock_movement_list(scope=self.scope)

    @extend_schema(
        operation_id="admin_stock_movements_list",
        tags=TAGS,
        responses=StockMovementOutput(many=True),
    )
    def get(self, request: Request) -> Response:
        """List the stock ledger.

        Every change to `on_hand`, newest first, with its reason, reference and who made it. Reads
        only.
        """
        movements = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(StockMovementOutput(movements, many=True).data)
