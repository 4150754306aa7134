"""Fulfiller views: assigned orders with contacts masked, their threads, status updates.

Fulfiller POSTs honour `Idempotency-Key` like every other POST, scoped to the courier's
token: a courier app retrying over a bad connection posts a message or an update once.
"""

from __future__ import annotations

from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from backoffice.timefmt import rfc3339
from channels_api.fulfiller.authentication import FulfillerTokenAuthentication, IsFulfiller
from channels_api.idempotency import idempotent
from channels_api.message_io import (
    THREAD_PARAMETERS,
    THREAD_QUERY,
    MessageInput,
    MessageOutput,
    MessagePageOutput,
    is_id,
    message_data,
    thread_response,
)
from channels_api.schema import raises
from channels_api.views import ApiView
from delivery.errors import NoActiveDelivery
from delivery.selectors import courier_location_share_check, courier_orders
from orders.courier_access.services import (
    COURIER_STATUSES,
    fulfiller_orders,
    fulfiller_status_post,
    phone_mask,
)
from orders.messages.services import message_post
from orders.models import Order, OrderMessage

FULFILLER = OrderMessage.Role.FULFILLER
TAGS = ["fulfiller"]


class FulfillerOrderLineOutput(serializers.Serializer):
    sku = serializers.CharField()
    name = serializers.CharField()
    quantity = serializers.IntegerField()


class FulfillerOrderOutput(serializers.Serializer):
    id = serializers.CharField()
    number = serializers.CharField()
    status = serializers.CharField()
    fulfillment_status = serializers.CharField()
    payment_status = serializers.CharField()
    customer_phone = serializers.CharField(help_text="Masked: the last two digits only.")
    shipping_address = serializers.DictField(allow_null=True)
    shipping_method = serializers.CharField()
    lines = FulfillerOrderLineOutput(many=True)
    created_at = serializers.DateTimeField()


class StatusInput(serializers.Serializer):
    status = serializers.ChoiceField(choices=list(COURIER_STATUSES))
    note = serializers.CharField(max_length=1000, required=False, allow_blank=True, default="")
    tracking_url = serializers.URLField(
        max_length=2000, required=False, allow_blank=True, default=""
    )


def fulfiller_order_data(order: Order) -> dict:
    address = dict(order.shipping_address or {}) or None
    if address and address.get("phone"):
        address["phone"] = phone_mask(address["phone"])
    return {
        "id": str(order.pk),
        "number": order.number,
        "status": order.status,
        "fulfillment_status": order.fulfillment_status,
        "payment_status": order.payment_status,
        "customer_phone": phone_mask(order.phone),
        "shipping_address": address,
        "shipping_method": order.shipping_method_name,
        "lines": [
            {"sku": line.sku, "name": line.name, "quantity": line.quantity}
            for line in order.lines.all()
        ],
        "created_at": rfc3339(order.created_at),
    }


class FulfillerView(ApiView):
    authentication_classes = [FulfillerTokenAuthentication]
    permission_classes = [IsFulfiller]

    @property
    def access(self):
        return self.request.auth

    def visible_orders(self):
        """A courier of the shop sees the orders of its deliveries; another token, its orders."""
        courier = getattr(self.access, "_courier", None)
        if courier is not None:
            return courier_orders(courier=courier)
        return fulfiller_orders(access=self.access)

    def order(self, pk: str) -> Order:
        order = self.visible_orders().filter(pk=int(pk)).first() if is_id(pk) else None
        if order is None:
            raise Http404
        return order


class FulfillerOrderListView(FulfillerView):
    serializer_class = FulfillerOrderOutput

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation: no token
            return Order.objects.none()
        return self.visible_orders()

    @extend_schema(operation_id="fulfiller_orders_list", tags=TAGS)
    def get(self, request: Request) -> Response:
        """List the orders this token was issued for.

        Contacts are masked. Reads only.
        """
        orders = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response([fulfiller_order_data(order) for order in orders])


class FulfillerOrderMessagesView(FulfillerView):
    query_parameters = THREAD_QUERY
    pagination_class = None

    @extend_schema(
        operation_id="fulfiller_order_messages_list",
        tags=TAGS,
        parameters=THREAD_PARAMETERS,
        responses={200: MessagePageOutput},
    )
    def get(self, request: Request, pk: str) -> Response:
        """Read an order's message thread as the courier.

        Messages oldest first, `after` a message id for the newer ones. Reads only.
        """
        return thread_response(
            request, self.order(pk), viewer_role=FULFILLER, viewer_ref=self.access.actor
        )

    @extend_schema(
        operation_id="fulfiller_order_messages_create",
        tags=TAGS,
        request=MessageInput,
        responses={201: MessageOutput},
    )
    @raises(NoActiveDelivery)
    @idempotent
    def post(self, request: Request, pk: str) -> Response:
        """Post a message to an order's thread as the courier.

        The customer and staff see it; `message.created` is sent to webhooks.
        """
        payload = MessageInput(data=request.data)
        payload.is_valid(raise_exception=True)
        order = self.order(pk)
        courier = getattr(self.access, "_courier", None)
        if payload.validated_data["kind"] == OrderMessage.Kind.LOCATION and courier is not None:
            courier_location_share_check(courier=courier, order=order)
        message = message_post(
            order=order,
            role=FULFILLER,
            author_name=self.access.name,
            author_ref=self.access.actor,
            **payload.validated_data,
        )
        return Response(
            message_data(message, viewer_role=FULFILLER, viewer_ref=self.access.actor),
            status=status.HTTP_201_CREATED,
        )


class FulfillerOrderStatusView(FulfillerView):
    pagination_class = None

    @extend_schema(
        operation_id="fulfiller_order_status_create",
        tags=TAGS,
        request=StatusInput,
        responses={201: MessageOutput},
    )
    @idempotent
    def post(self, request: Request, pk: str) -> Response:
        """Post a status or tracking update as the courier.

        Adds a system message to the thread and an entry to the order's timeline.
        """
        payload = StatusInput(data=request.data)
        payload.is_valid(raise_exception=True)
        message = fulfiller_status_post(
            access=self.access, order=self.order(pk), **payload.validated_data
        )
        return Response(
            message_data(message, viewer_role=FULFILLER, viewer_ref=self.access.actor),
            status=status.HTTP_201_CREATED,
        )
