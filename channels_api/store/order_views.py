"""Store views for carts, one-shot checkout and the customer's order page."""

from __future__ import annotations

from django.http import Http404
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from backoffice.client_address import client_address
from channels_api.idempotency import idempotent
from channels_api.order_output import (
    CartOutput,
    ShippingMethodOutput,
    StoreOrderOutput,
    cart_data,
    order_data,
    shipping_method_data,
)
from channels_api.store.checkout_serializers import (
    CartCompleteInput,
    CartCreateInput,
    CartExtendInput,
    CartLineQuantityInput,
    CartUpdateInput,
    CheckoutRequest,
    OrderLineInput,
    to_lines,
)
from channels_api.store.views import StoreView
from channels_api.throttling import order_lookup_attempt
from orders import services
from orders.models import Cart, Order, ShippingMethod
from orders.selectors import (
    cart_get,
    order_get_by_token,
    order_lookup,
    order_number_parse,
    shipping_method_list,
)

TAGS = ["store: checkout"]
PROBLEMS = {
    400: OpenApiResponse(description="invalid"),
    402: OpenApiResponse(description="payment_declined"),
    404: OpenApiResponse(description="not_found"),
    409: OpenApiResponse(description="insufficient_stock, cart_completed, voucher_unavailable"),
}


class CartMixin(StoreView):
    pagination_class = None

    def cart(self, cart_id: str, with_lines: bool = False) -> Cart:
        """The key's cart; services lock and read it again, so by default without its lines."""
        cart = cart_get(channel=self.channel, cart_id=cart_id, with_lines=with_lines)
        if cart is None:
            raise Http404
        return cart

    def cart_response(self, cart_id: str, status_code: int = 200) -> Response:
        cart = self.cart(cart_id, with_lines=True)
        order = (
            Order.objects.filter(cart=cart).first()
            if cart.status == Cart.Status.COMPLETED
            else None
        )
        return Response(cart_data(services.cart_totals(cart=cart), order), status=status_code)


def order_response(order: Order, status_code: int, new: bool = False) -> Response:
    return Response(order_data(order, tracking=[] if new else None), status=status_code)


class CartListView(CartMixin):
    @extend_schema(
        operation_id="store_carts_create",
        tags=TAGS,
        request=CartCreateInput,
        responses={201: CartOutput, **PROBLEMS},
    )
    @idempotent
    def post(self, request: Request) -> Response:
        payload = CartCreateInput(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        cart = services.cart_create(
            channel=self.channel,
            lines=to_lines(data["lines"]),
            email=data["email"],
            phone=data["phone"],
        )
        return self.cart_response(str(cart.id), status.HTTP_201_CREATED)


class CartDetailView(CartMixin):
    @extend_schema(operation_id="store_carts_retrieve", tags=TAGS, responses={200: CartOutput})
    def get(self, request: Request, cart_id: str) -> Response:
        return self.cart_response(cart_id)

    @extend_schema(
        operation_id="store_carts_update",
        tags=TAGS,
        request=CartUpdateInput,
        responses={200: CartOutput, **PROBLEMS},
    )
    def patch(self, request: Request, cart_id: str) -> Response:
        payload = CartUpdateInput(data=request.data, partial=True)
        payload.is_valid(raise_exception=True)
        services.cart_update(cart=self.cart(cart_id), **payload.validated_data)
        return self.cart_response(cart_id)


class CartLinesView(CartMixin):
    @extend_schema(
        operation_id="store_cart_lines_create",
        tags=TAGS,
        request=OrderLineInput,
        responses={201: CartOutput, **PROBLEMS},
    )
    @idempotent
    def post(self, request: Request, cart_id: str) -> Response:
        payload = OrderLineInput(data=request.data)
        payload.is_valid(raise_exception=True)
        services.cart_line_add(cart=self.cart(cart_id), **payload.validated_data)
        return self.cart_response(cart_id, status.HTTP_201_CREATED)


class CartLineDetailView(CartMixin):
    @extend_schema(
        operation_id="store_cart_lines_update",
        tags=TAGS,
        request=CartLineQuantityInput,
        responses={200: CartOutput, **PROBLEMS},
    )
    def patch(self, request: Request, cart_id: str, line_id: str) -> Response:
        payload = CartLineQuantityInput(data=request.data)
        payload.is_valid(raise_exception=True)
        services.cart_line_update(
            cart=self.cart(cart_id), line_id=line_id, quantity=payload.validated_data["quantity"]
        )
        return self.cart_response(cart_id)

    @extend_schema(
        operation_id="store_cart_lines_destroy", tags=TAGS, responses={200: CartOutput, **PROBLEMS}
    )
    def delete(self, request: Request, cart_id: str, line_id: str) -> Response:
        services.cart_line_remove(cart=self.cart(cart_id), line_id=line_id)
        return self.cart_response(cart_id)


class CartReleaseView(CartMixin):
    @extend_schema(
        operation_id="store_carts_release",
        tags=TAGS,
        request=None,
        responses={200: CartOutput, **PROBLEMS},
        description="Give the cart's held stock back now (the lines stay).",
    )
    @idempotent
    def post(self, request: Request, cart_id: str) -> Response:
        services.cart_release(cart=self.cart(cart_id))
        return self.cart_response(cart_id)


class CartExtendView(CartMixin):
    @extend_schema(
        operation_id="store_carts_extend",
        tags=TAGS,
        request=CartExtendInput,
        responses={200: CartOutput, **PROBLEMS},
        description="Hold the cart's stock for `seconds` more, up to the channel's maximum.",
    )
    @idempotent
    def post(self, request: Request, cart_id: str) -> Response:
        payload = CartExtendInput(data=request.data)
        payload.is_valid(raise_exception=True)
        services.cart_extend(cart=self.cart(cart_id), seconds=payload.validated_data["seconds"])
        return self.cart_response(cart_id)


class CartCompleteView(CartMixin):
    @extend_schema(
        operation_id="store_carts_complete",
        tags=TAGS,
        request=CartCompleteInput,
        responses={201: StoreOrderOutput, 200: StoreOrderOutput, **PROBLEMS},
        description="201 with the new order; completing again returns 200 with the same order.",
    )
    @idempotent
    def post(self, request: Request, cart_id: str) -> Response:
        payload = CartCompleteInput(data=request.data)
        payload.is_valid(raise_exception=True)
        payment = payload.validated_data.get("payment")
        order, created = services.cart_complete(
            cart=self.cart(cart_id),
            payment=dict(payment) if payment else None,
            actor=request.auth.actor,
        )
        return order_response(
            order, status.HTTP_201_CREATED if created else status.HTTP_200_OK, new=created
        )


class CheckoutView(StoreView):
    pagination_class = None

    @extend_schema(
        operation_id="store_checkout",
        tags=TAGS,
        request=CheckoutRequest,
        responses={201: StoreOrderOutput, **PROBLEMS},
    )
    @idempotent
    def post(self, request: Request) -> Response:
        payload = CheckoutRequest(data=request.data)
        payload.is_valid(raise_exception=True)
        order = services.checkout_direct(
            channel=self.channel, data=payload.to_checkout_input(), actor=request.auth.actor
        )
        return order_response(order, status.HTTP_201_CREATED, new=True)


class StoreOrderView(StoreView):
    pagination_class = None

    @extend_schema(
        operation_id="store_orders_retrieve",
        tags=TAGS,
        responses={200: StoreOrderOutput, 404: OpenApiResponse(description="not_found")},
    )
    def get(self, request: Request, token: str) -> Response:
        order = order_get_by_token(channel=self.channel, token=token)
        if order is None:
            raise Http404
        return order_response(order, status.HTTP_200_OK)


class ShippingMethodListView(StoreView):
    pagination_class = None
    queryset = ShippingMethod.objects.none()

    @extend_schema(
        operation_id="store_shipping_methods_list",
        tags=TAGS,
        responses={200: ShippingMethodOutput(many=True)},
    )
    def get(self, request: Request) -> Response:
        methods = shipping_method_list(channel=self.channel)
        return Response([shipping_method_data(m, self.channel.currency) for m in methods])


class OrderLookupInput(serializers.Serializer):
    number = serializers.CharField(max_length=20)
    email = serializers.CharField(max_length=254, required=False, allow_blank=True, default="")
    phone = serializers.CharField(max_length=32, required=False, allow_blank=True, default="")

    def validate(self, data: dict) -> dict:
        if not data["email"].strip() and not data["phone"].strip():
            raise serializers.ValidationError({"email": ["Send the order's email or phone."]})
        return data


class OrderLookupView(StoreView):
    """Guessing is limited per order number and per client address, whatever the key's own
    limit (`order_lookup_attempt`). The place is taken before the idempotency layer, so a
    replay counts like the request it repeats, and settled on the final answer."""

    pagination_class = None

    def initial(self, request: Request, *args, **kwargs) -> None:
        super().initial(request, *args, **kwargs)  # the key, its permission and its own limit
        number = request.data.get("number") if isinstance(request.data, dict) else None
        self.lookup_attempt = order_lookup_attempt(
            number=order_number_parse(number), address=client_address(request)
        )

    def finalize_response(self, request: Request, response, *args, **kwargs):
        attempt = getattr(self, "lookup_attempt", None)
        if attempt is not None:
            attempt.settle(missed=response.status_code == status.HTTP_404_NOT_FOUND)
        return super().finalize_response(request, response, *args, **kwargs)

    @extend_schema(
        operation_id="store_orders_lookup",
        tags=TAGS,
        request=OrderLookupInput,
        responses={
            200: StoreOrderOutput,
            404: OpenApiResponse(description="not_found"),
            429: OpenApiResponse(description="rate_limited (too many failed lookups)"),
        },
        description=(
            "The order by its number plus the customer's email or phone (for chatbots). "
            "Any mismatch is 404, the same answer as an unknown number. Failed lookups are "
            "limited per order number and per client address "
            "(`ORDER_LOOKUP_FAILURES_PER_NUMBER`, `ORDER_LOOKUP_FAILURES_PER_ADDRESS` per "
            "`ORDER_LOOKUP_WINDOW_SECONDS`): beyond them every lookup of that number, or "
            "from that address, answers 429 `rate_limited` with `Retry-After`."
        ),
    )
    @idempotent
    def post(self, request: Request) -> Response:
        payload = OrderLookupInput(data=request.data)
        payload.is_valid(raise_exception=True)
        order = order_lookup(channel=self.channel, **payload.validated_data)
        if order is None:
            raise Http404
        return order_response(order, status.HTTP_200_OK)
