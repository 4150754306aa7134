"""Admin views for order threads as staff see them, and for couriers' fulfiller tokens."""

from __future__ import annotations

from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from backoffice.exceptions import ValidationFailed
from backoffice.timefmt import rfc3339
from channels_api.admin_api.base import AdminView
from channels_api.admin_api.order_views import OrderAdminView
from channels_api.idempotency import idempotent
from channels_api.message_io import (
    THREAD_PARAMETERS,
    THREAD_QUERY,
    MessageOutput,
    MessagePageOutput,
    StaffMessageInput,
    is_id,
    message_data,
    thread_response,
)
from orders.courier_access.services import fulfiller_access_create, fulfiller_access_revoke
from orders.messages.services import message_post
from orders.models import FulfillerAccess, Order, OrderMessage

STAFF = OrderMessage.Role.STAFF


class OrderMessagesView(OrderAdminView):
    query_parameters = THREAD_QUERY

    @extend_schema(
        operation_id="admin_order_messages_list",
        tags=["admin: orders"],
        parameters=THREAD_PARAMETERS,
        responses={200: MessagePageOutput},
    )
    def get(self, request: Request, pk: str) -> Response:
        """Read an order's message thread as staff.

        Messages oldest first, `after` a message id for the newer ones. Reads only.
        """
        return thread_response(request, self.order(pk, Order.objects), viewer_role=STAFF)

    @extend_schema(
        operation_id="admin_order_messages_create",
        tags=["admin: orders"],
        request=StaffMessageInput,
        responses={201: MessageOutput},
    )
    @idempotent
    def post(self, request: Request, pk: str) -> Response:
        """Post a message to an order's thread as staff.

        The customer and the courier see it in the same thread; `message.created` is sent to
        webhooks.
        """
        payload = StaffMessageInput(data=request.data)
        payload.is_valid(raise_exception=True)
        message = message_post(
            order=self.order(pk, Order.objects),
            role=STAFF,
            author_ref=request.auth.actor,
            **payload.validated_data,
        )
        return Response(message_data(message, viewer_role=STAFF), status=status.HTTP_201_CREATED)


class FulfillerCreateInput(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    orders = serializers.ListField(
        child=serializers.CharField(max_length=20), min_length=1, max_length=100
    )
    expires_at = serializers.DateTimeField(required=False, allow_null=True, default=None)
    hours_after_completion = serializers.IntegerField(
        min_value=0, max_value=24 * 90, required=False, default=48
    )


class FulfillerOutput(serializers.Serializer):
    id = serializers.CharField()
    name = serializers.CharField()
    prefix = serializers.CharField()
    orders = serializers.ListField(child=serializers.CharField())
    expires_at = serializers.DateTimeField()
    hours_after_completion = serializers.IntegerField()
    revoked_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()


class FulfillerWithTokenOutput(FulfillerOutput):
    token = serializers.CharField(help_text="Shown once: `Authorization: Bearer ft_...`.")


def fulfiller_data(access: FulfillerAccess) -> dict:
    return {
        "id": str(access.pk),
        "name": access.name,
        "prefix": access.prefix,
        "orders": [str(pk) for pk in access.orders.order_by("pk").values_list("pk", flat=True)],
        "expires_at": rfc3339(access.expires_at),
        "hours_after_completion": access.hours_after_completion,
        "revoked_at": rfc3339(access.revoked_at),
        "created_at": rfc3339(access.created_at),
    }


class FulfillerAdminView(AdminView):
    def orders_visible(self):
        return self.scoped(Order.objects.all())

    def get_queryset(self):
        accesses = FulfillerAccess.objects.order_by("-id")
        if getattr(self, "swagger_fake_view", False):  # schema generation: no key
            return accesses.none()
        if not self.scope.unrestricted:
            # A token is this key's only if every order it opens is.
            accesses = accesses.exclude(
                orders__in=Order.objects.exclude(pk__in=self.orders_visible())
            )
        return accesses


class FulfillerListView(FulfillerAdminView):
    serializer_class = FulfillerOutput

    @extend_schema(operation_id="admin_fulfillers_list", tags=["admin: fulfillers"])
    def get(self, request: Request) -> Response:
        """List couriers' fulfiller tokens.

        Reads only; the tokens themselves are not shown.
        """
        accesses = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response([fulfiller_data(access) for access in accesses])

    @extend_schema(
        operation_id="admin_fulfillers_create",
        tags=["admin: fulfillers"],
        request=FulfillerCreateInput,
        responses={201: FulfillerWithTokenOutput},
    )
    @idempotent
    def post(self, request: Request) -> Response:
        """Give a courier a token for some orders.

        The courier reads those orders (contacts masked), talks in their threads and posts status
        updates with it. The full token is in this answer only.
        """
        payload = FulfillerCreateInput(data=request.data)
        payload.is_valid(raise_exception=True)
        data = dict(payload.validated_data)
        ids = [int(pk) for pk in data["orders"] if is_id(pk)]
        orders = list(self.orders_visible().filter(pk__in=ids))
        if len(orders) != len(set(data.pop("orders"))):
            raise ValidationFailed({"orders": ["Unknown order ids."]})
        access, token = fulfiller_access_create(orders=orders, actor=request.auth.actor, **data)
        return Response({**fulfiller_data(access), "token": token}, status=status.HTTP_201_CREATED)


class FulfillerRevokeView(FulfillerAdminView):
    pagination_class = None

    @extend_schema(
        operation_id="admin_fulfillers_revoke",
        tags=["admin: fulfillers"],
        request=None,
        responses={200: FulfillerOutput},
    )
    @idempotent
    def post(self, request: Request, pk: str) -> Response:
        """Revoke a courier's fulfiller token.

        It stops working at once.
        """
        access = self.get_queryset().filter(pk=int(pk)).first() if is_id(pk) else None
        if access is None:
            raise Http404
        return Response(fulfiller_data(fulfiller_access_revoke(access=access)))
