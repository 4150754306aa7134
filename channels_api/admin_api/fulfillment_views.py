"""Admin views for fulfillments (create, pack, ship, deliver, cancel) and returns."""

from __future__ import annotations

from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from backoffice.exceptions import InvalidTransition, ValidationFailed
from backoffice.scopes import scope_allows
from channels_api.admin_api.fulfillment_serializers import (
    FulfillmentCreateInput,
    FulfillmentListOutput,
    FulfillmentOutput,
    ReturnInput,
    ReturnOutput,
    ShipInput,
    fulfillment_data,
    return_data,
)
from channels_api.admin_api.order_views import OrderAdminView
from channels_api.idempotency import idempotent
from channels_api.schema import raises
from fulfillment import services
from fulfillment.errors import NothingToFulfill, OrderNotShippable
from fulfillment.models import Fulfillment, Return
from fulfillment.returns import return_create
from inventory.codes import code_is
from inventory.errors import StockConflict
from inventory.models import Warehouse
from orders.models import Order

TAGS = ["admin: fulfillment"]


def _warehouse(code: str | None) -> Warehouse | None:
    if not code:
        return None
    warehouse = Warehouse.objects.filter(code_is(code)).first()
    if warehouse is None:
        raise ValidationFailed({"warehouse": [f"Unknown warehouse '{code}'."]})
    return warehouse


def _lines(items: list[dict] | None) -> list[services.LineRequest] | None:
    if items is None:
        return None
    return [services.LineRequest(sku=item["sku"], quantity=item["quantity"]) for item in items]


def _fulfillments(order: Order):
    return order.fulfillments.select_related("warehouse").prefetch_related("lines__order_line")


class OrderFulfillmentsView(OrderAdminView):
    @extend_schema(
        operation_id="admin_order_fulfillments_list",
        tags=TAGS,
        responses={200: FulfillmentListOutput},
    )
    def get(self, request: Request, pk: str) -> Response:
        """List an order's fulfillments.

        Reads only.
        """
        order = self.order(pk, Order.objects)
        return Response(
            {"results": [fulfillment_data(f) for f in _fulfillments(order)], "next": None}
        )

    @extend_schema(
        operation_id="admin_order_fulfillments_create",
        tags=TAGS,
        request=FulfillmentCreateInput,
        responses={201: FulfillmentListOutput},
    )
    @raises(InvalidTransition, NothingToFulfill, OrderNotShippable)
    @idempotent
    def post(self, request: Request, pk: str) -> Response:
        """Plan shipments for an order.

        All unfulfilled units when `lines` is omitted, one fulfillment per warehouse holding them
        when `warehouse` is omitted; `fulfillment.created` is sent to webhooks. 409
        `nothing_to_fulfill` when every unit is already planned; 409 `order_not_shippable`
        (`errors` names `shipping_address`) while goods to ship have no complete address.
        """
        payload = FulfillmentCreateInput(data=request.data)
        payload.is_valid(raise_exception=True)
        created = services.fulfillment_create(
            order=self.order(pk, Order.objects),
            warehouse=_warehouse(payload.validated_data.get("warehouse")),
            lines=_lines(payload.validated_data.get("lines")),
            actor=request.auth.actor,
        )
        fulfillments = Fulfillment.objects.filter(pk__in=[f.pk for f in created])
        fulfillments = fulfillments.select_related("warehouse").prefetch_related(
            "lines__order_line"
        )
        return Response(
            {"results": [fulfillment_data(f) for f in fulfillments], "next": None},
            status=status.HTTP_201_CREATED,
        )


class FulfillmentView(OrderAdminView):
    def fulfillment(self, pk: str) -> Fulfillment:
        fulfillment = services.fulfillment_get(pk=pk)
        if not scope_allows(self.scope, fulfillment):
            raise Http404
        return fulfillment

    def output(self, pk: str) -> Response:
        fulfillment = (
            Fulfillment.objects.select_related("warehouse")
            .prefetch_related("lines__order_line")
            .get(pk=int(pk))
        )
        return Response(fulfillment_data(fulfillment))


class FulfillmentDetailView(FulfillmentView):
    @extend_schema(
        operation_id="admin_fulfillments_retrieve", tags=TAGS, responses={200: FulfillmentOutput}
    )
    def get(self, request: Request, pk: str) -> Response:
        """Get a fulfillment.

        Reads only.
        """
        self.fulfillment(pk)
        return self.output(pk)


def _action_view(action: str, service, doc: str, request_serializer=None, errors=()):
    class ActionView(FulfillmentView):
        @extend_schema(
            operation_id=f"admin_fulfillments_{action}",
            tags=TAGS,
            request=request_serializer,
            responses={200: FulfillmentOutput},
        )
        @raises(InvalidTransition, *errors)
        @idempotent
        def post(self, request: Request, pk: str) -> Response:
            arguments = {}
            if request_serializer is not None:
                payload = request_serializer(data=request.data)
                payload.is_valid(raise_exception=True)
                arguments = payload.validated_data
            service(fulfillment=self.fulfillment(pk), actor=request.auth.actor, **arguments)
            return self.output(pk)

        post.__doc__ = doc

    ActionView.__name__ = f"Fulfillment{action.title()}View"
    return ActionView


FulfillmentPackView = _action_view(
    "pack",
    services.fulfillment_pack,
    """Mark a fulfillment packed.

    The parcel is ready to leave the warehouse. 409 `invalid_transition` when it is not planned.
    """,
)
FulfillmentShipView = _action_view(
    "ship",
    services.fulfillment_ship,
    """Ship a fulfillment.

    The parcel left with `carrier` and `tracking_number`: its units come out of stock, the
    order's `fulfillment_status` moves on, `fulfillment.shipped` is sent to webhooks and the
    customer is emailed the tracking. 409 `order_not_shippable` while the order's goods have
    no complete shipping address to go to.
    """,
    ShipInput,
    errors=(StockConflict, OrderNotShippable),
)
FulfillmentDeliverView = _action_view(
    "deliver",
    services.fulfillment_deliver,
    """Mark a fulfillment delivered.

    `fulfillment.delivered` is sent to webhooks and the customer is emailed; when every unit was
    delivered, a paid order completes.
    """,
)
FulfillmentCancelView = _action_view(
    "cancel",
    services.fulfillment_cancel,
    """Cancel a fulfillment that has not shipped.

    Its units stay allocated to the order, to plan again.
    """,
)


class OrderReturnsView(OrderAdminView):
    @extend_schema(
        operation_id="admin_order_returns_list", tags=TAGS, responses={200: ReturnOutput(many=True)}
    )
    def get(self, request: Request, pk: str) -> Response:
        """List an order's returns.

        Reads only.
        """
        order = self.order(pk, Order.objects)
        returns = Return.objects.filter(order=order).select_related("order", "warehouse")
        returns = returns.prefetch_related("lines__order_line")
        return Response({"results": [return_data(r) for r in returns], "next": None})

    @extend_schema(
        operation_id="admin_order_returns_create",
        tags=TAGS,
        request=ReturnInput,
        responses={201: ReturnOutput},
    )
    @raises(InvalidTransition)
    @idempotent(own_transactions=True)  # its refund asks the PSP after the return commits
    def post(self, request: Request, pk: str) -> Response:
        """Record a return of shipped units.

        Units come back into stock when `restock` is true, the money is refunded when `refund` is
        true, and `return.created` is sent to webhooks.
        """
        payload = ReturnInput(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        record = return_create(
            order=self.order(pk, Order.objects),
            lines=_lines(data["lines"]),
            reason=data["reason"],
            restock=data["restock"],
            warehouse=_warehouse(data.get("warehouse")),
            refund=data["refund"],
            actor=request.auth.actor,
        )
        return Response(return_data(record), status=status.HTTP_201_CREATED)
