"""Admin views for orders (list, detail, lifecycle actions, notes), vouchers, shipping methods."""

from __future__ import annotations

import django_filters
from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from backoffice.exceptions import InvalidTransition
from backoffice.ids import is_id
from channels_api.admin_api.base import AdminView
from channels_api.admin_api.order_serializers import (
    AdminOrderOutput,
    CancelInput,
    CaptureInput,
    NoteInput,
    RefundInput,
    ShippingMethodAdminOutput,
    ShippingMethodInput,
    VoucherInput,
    VoucherOutput,
    VoucherPatchInput,
    admin_order_data,
)
from channels_api.idempotency import HEADER as IDEMPOTENCY_HEADER
from channels_api.idempotency import idempotent
from channels_api.schema import raises
from fulfillment.services import order_cancel_with_shipments, order_payment_capture
from orders import services
from orders.errors import PaymentProviderUnavailable, RefundExceedsCaptured
from orders.models import Order, ShippingMethod
from orders.selectors import order_detail_queryset, order_list, order_search, voucher_list
from orders.services.setup import shipping_method_create, voucher_create, voucher_update

TAGS = ["admin: orders"]


class OrderFilter(django_filters.FilterSet):
    status = django_filters.MultipleChoiceFilter(choices=Order.Status.choices)
    payment_status = django_filters.MultipleChoiceFilter(choices=Order.PaymentStatus.choices)
    fulfillment_status = django_filters.MultipleChoiceFilter(
        choices=Order.FulfillmentStatus.choices
    )
    channel = django_filters.CharFilter(field_name="channel__code")
    created_after = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="lt")
    search = django_filters.CharFilter(method="filter_search", max_length=200)

    class Meta:
        model = Order
        fields: list[str] = []

    def filter_search(self, queryset, name, value):
        return order_search(queryset, value)


class OrderAdminView(AdminView):
    pagination_class = None
    queryset = Order.objects.none()  # for the schema: path ids are orders

    def order(self, pk: str, queryset=None) -> Order:
        queryset = order_detail_queryset() if queryset is None else queryset
        queryset = self.scoped(queryset)
        order = queryset.filter(pk=int(pk)).first() if is_id(pk) else None
        if order is None:
            raise Http404
        return order

    def detail(self, pk: str, status_code: int = 200) -> Response:
        return Response(admin_order_data(self.order(pk)), status=status_code)


class OrderListView(AdminView):
    filterset_class = OrderFilter
    serializer_class = AdminOrderOutput

    def get_queryset(self):
        return self.scoped(order_list())

    @extend_schema(operation_id="admin_orders_list", tags=TAGS)
    def get(self, request: Request) -> Response:
        """List orders.

        Filter by `status`, `payment_status`, `fulfillment_status`, `channel`, `created_after`,
        `created_before` or `search` (number, email, name). Reads only.
        """
        orders = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response([admin_order_data(o, detail=False) for o in orders])


class OrderDetailView(OrderAdminView):
    @extend_schema(
        operation_id="admin_orders_retrieve", tags=TAGS, responses={200: AdminOrderOutput}
    )
    def get(self, request: Request, pk: str) -> Response:
        """Get an order with its payments, fulfillments and timeline.

        Reads only.
        """
        return self.detail(pk)


class OrderCancelView(OrderAdminView):
    @extend_schema(
        operation_id="admin_orders_cancel",
        tags=TAGS,
        request=CancelInput,
        responses={200: AdminOrderOutput},
    )
    @raises(InvalidTransition)
    @idempotent(own_transactions=True)
    def post(self, request: Request, pk: str) -> Response:
        """Cancel an order.

        Allowed until something ships: the stock is released, an authorization voided and what was
        paid refunded; `order.cancelled` is sent to webhooks. 409 `invalid_transition` otherwise.
        The PSP is asked after the cancel is committed; if it does not answer, the void or refund
        stays pending (see the payment's `operations`) and reconciliation makes it.
        """
        payload = CancelInput(data=request.data)
        payload.is_valid(raise_exception=True)
        order_cancel_with_shipments(
            order=self.order(pk, Order.objects),
            actor=request.auth.actor,
            reason=payload.validated_data["reason"],
        )
        return self.detail(pk)


class OrderCaptureView(OrderAdminView):
    @extend_schema(
        operation_id="admin_orders_capture",
        tags=TAGS,
        request=CaptureInput,
        responses={200: AdminOrderOutput},
    )
    @raises(InvalidTransition, PaymentProviderUnavailable)
    @idempotent(own_transactions=True)
    def post(self, request: Request, pk: str) -> Response:
        """Capture an order's payment.

        Captures the authorization through its provider (all of it, or `amount` of it: the rest is
        released), or records a manual payment of the total (cash on delivery); a pending order
        becomes confirmed. `order.paid` (and `order.confirmed`) is sent to webhooks. 409
        `invalid_transition` when already paid or cancelled; 503 `payment_provider_unavailable`
        when the PSP does not answer (retry with the same Idempotency-Key: it captures once).
        """
        payload = CaptureInput(data=request.data)
        payload.is_valid(raise_exception=True)
        order_payment_capture(
            order=self.order(pk, Order.objects),
            actor=request.auth.actor,
            key=request.headers.get(IDEMPOTENCY_HEADER),
            **payload.validated_data,
        )
        return self.detail(pk)


class OrderRefundView(OrderAdminView):
    @extend_schema(
        operation_id="admin_orders_refund",
        tags=TAGS,
        request=RefundInput,
        responses={200: AdminOrderOutput},
    )
    @raises(InvalidTransition, RefundExceedsCaptured, PaymentProviderUnavailable)
    @idempotent(own_transactions=True)
    def post(self, request: Request, pk: str) -> Response:
        """Refund an order, fully or in part.

        At most what was captured and not yet refunded (all of it when `amount` is omitted), given
        back through the payment's provider; `refund.created` is sent to webhooks. 409
        `refund_exceeds_captured` or `invalid_transition`. 503 `payment_provider_unavailable` when
        the PSP does not answer: retry with the same Idempotency-Key and the money moves once.
        """
        payload = RefundInput(data=request.data)
        payload.is_valid(raise_exception=True)
        services.order_refund(
            order=self.order(pk, Order.objects),
            actor=request.auth.actor,
            amount=payload.validated_data.get("amount"),
            reason=payload.validated_data["reason"],
            key=request.headers.get(IDEMPOTENCY_HEADER),
        )
        return self.detail(pk)


class OrderNotesView(OrderAdminView):
    @extend_schema(
        operation_id="admin_orders_notes_create",
        tags=TAGS,
        request=NoteInput,
        responses={201: AdminOrderOutput},
    )
    @idempotent
    def post(self, request: Request, pk: str) -> Response:
        """Add a staff note to an order's timeline.

        The answer is the order with the note.
        """
        payload = NoteInput(data=request.data)
        payload.is_valid(raise_exception=True)
        services.order_note_add(
            order=self.order(pk, Order.objects),
            actor=request.auth.actor,
            note=payload.validated_data["note"],
        )
        return self.detail(pk, status.HTTP_201_CREATED)


class VoucherListView(AdminView):
    serializer_class = VoucherOutput

    def get_queryset(self):
        return voucher_list(scope=self.scope)

    @extend_schema(operation_id="admin_vouchers_list", tags=TAGS)
    def get(self, request: Request) -> Response:
        """List vouchers.

        Reads only.
        """
        vouchers = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(VoucherOutput(vouchers, many=True).data)

    @extend_schema(
        operation_id="admin_vouchers_create",
        tags=TAGS,
        request=VoucherInput,
        responses={201: VoucherOutput},
    )
    @idempotent
    def post(self, request: Request) -> Response:
        """Create a voucher.

        A code customers enter on a cart or checkout, for a percentage or fixed discount, limited to
        channels, dates and a number of uses. Needs a key not limited to one channel.
        """
        self.require_every_channel()
        payload = VoucherInput(data=request.data)
        payload.is_valid(raise_exception=True)
        voucher = voucher_create(**payload.validated_data, actor=request.auth.actor)
        return Response(VoucherOutput(voucher).data, status=status.HTTP_201_CREATED)


class VoucherDetailView(AdminView):
    serializer_class = VoucherOutput

    def get_queryset(self):
        return voucher_list(scope=self.scope)

    def get_object(self, code: str):
        """The voucher by its code, ignoring case, among those the key reaches."""
        voucher = self.get_queryset().filter(code__iexact=code).first()
        if voucher is None:
            raise Http404
        return voucher

    @extend_schema(operation_id="admin_vouchers_retrieve", tags=TAGS)
    def get(self, request: Request, code: str) -> Response:
        """Get a voucher by its code (ignoring case).

        Reads only.
        """
        return Response(VoucherOutput(self.get_object(code)).data)

    @extend_schema(
        operation_id="admin_vouchers_update",
        tags=TAGS,
        request=VoucherPatchInput,
        responses={200: VoucherOutput},
    )
    def patch(self, request: Request, code: str) -> Response:
        """Change a voucher.

        Only the fields sent change, checked as on a create; `used_count` is never written (a
        checkout counting a use meanwhile keeps it) and a `usage_limit` below it is refused.
        Needs a key not limited to one channel.
        """
        self.require_every_channel()
        voucher = self.get_object(code)
        payload = VoucherPatchInput(data=request.data)
        payload.is_valid(raise_exception=True)
        voucher = voucher_update(
            voucher=voucher, actor=request.auth.actor, **payload.validated_data
        )
        return Response(VoucherOutput(voucher).data)  # as edited: its code may be new


class ShippingMethodListView(AdminView):
    serializer_class = ShippingMethodAdminOutput

    def get_queryset(self):
        methods = ShippingMethod.objects.select_related("channel", "pickup_warehouse")
        methods = self.scoped(methods)
        return methods

    @extend_schema(operation_id="admin_shipping_methods_list", tags=TAGS)
    def get(self, request: Request) -> Response:
        """List shipping methods.

        A key limited to one channel sees only that channel's. Reads only.
        """
        methods = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(ShippingMethodAdminOutput(methods, many=True).data)

    @extend_schema(
        operation_id="admin_shipping_methods_create",
        tags=TAGS,
        request=ShippingMethodInput,
        responses={201: ShippingMethodAdminOutput},
    )
    @idempotent
    def post(self, request: Request) -> Response:
        """Create a shipping method for a channel.

        Delivery at a price (free over an amount if set) or pickup at a store.
        """
        payload = ShippingMethodInput(data=request.data)
        payload.is_valid(raise_exception=True)
        data = dict(payload.validated_data)
        channel = self.channel_for_write(data.pop("channel"))
        method = shipping_method_create(channel=channel, **data)
        return Response(ShippingMethodAdminOutput(method).data, status=status.HTTP_201_CREATED)
