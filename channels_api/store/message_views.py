"""Store view of an order's message thread: the customer, through the order's token."""

from __future__ import annotations

from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from channels_api.idempotency import idempotent
from channels_api.message_io import (
    THREAD_PARAMETERS,
    THREAD_QUERY,
    MessageInput,
    MessageOutput,
    MessagePageOutput,
    message_data,
    thread_response,
)
from channels_api.store.views import StoreView
from orders.messages.services import customer_display_name, message_post
from orders.models import Order, OrderMessage
from orders.selectors import order_get_by_token

CUSTOMER = OrderMessage.Role.CUSTOMER
CUSTOMER_REF = "customer"
TAGS = ["store: messages"]


class StoreOrderMessagesView(StoreView):
    query_parameters = THREAD_QUERY
    pagination_class = None

    def order(self, token: str) -> Order:
        order = order_get_by_token(channel=self.channel, token=token)
        if order is None:
            raise Http404
        return order

    @extend_schema(
        operation_id="store_order_messages_list",
        tags=TAGS,
        parameters=THREAD_PARAMETERS,
        responses={200: MessagePageOutput},
    )
    def get(self, request: Request, token: str) -> Response:
        """Read an order's message thread as the customer.

        Messages oldest first, `after` a message id for the newer ones; staff's and the courier's
        contacts are masked. Reads only.
        """
        return thread_response(
            request, self.order(token), viewer_role=CUSTOMER, viewer_ref=CUSTOMER_REF
        )

    @extend_schema(
        operation_id="store_order_messages_create",
        tags=TAGS,
        request=MessageInput,
        responses={201: MessageOutput},
    )
    @idempotent
    def post(self, request: Request, token: str) -> Response:
        """Post a message to an order's thread as the customer.

        Staff and the courier see it in the same thread; `message.created` is sent to webhooks.
        """
        payload = MessageInput(data=request.data)
        payload.is_valid(raise_exception=True)
        order = self.order(token)
        message = message_post(
            order=order,
            role=CUSTOMER,
            author_name=customer_display_name(order),
            author_ref=CUSTOMER_REF,
            **payload.validated_data,
        )
        return Response(
            message_data(message, viewer_role=CUSTOMER, viewer_ref=CUSTOMER_REF),
            status=status.HTTP_201_CREATED,
        )
