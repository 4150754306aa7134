"""Store views for carts, one-shot checkout and the customer's order page."""

from __future__ import annotations

from django.db import transaction
from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from backoffice.client_address import client_address
from backoffice.exceptions import NotFound
from channels_api.idempotency import idempotent, service_answer
from channels_api.order_output import (
    CartOutput,
    ShippingMethodOutput,
    StoreOrderOutput,
    cart_data,
    order_data,
    shipping_method_data,
)
from channels_api.schema import raises
from channels_api.store.checkout_serializers import (
    CartCompleteInput,
    CartCreateInput,
    CartExtendInput,
    CartLineQuantityInput,
    CartUpdateInput,
    CheckoutRequest,
    OrderLineInput,
    checkout_input_plain,
    to_lines,
)
from channels_api.store.views import StoreView
from channels_api.throttling import order_lookup_attempt
from delivery.checkout import cart_delivery_update
from delivery.errors import (
    BelowDeliveryMinimum,
    DeliveryClosed,
    DeliverySlotFull,
    DeliverySlotUnavailable,
    OutsideDeliveryArea,
)
from delivery.zones import address_geocode
from inventory.errors import InsufficientStock
from orders import services
from orders.errors import (
    CartCompleted,
    LinkUsedUp,
    PaymentDeclined,
    PaymentProviderUnavailable,
    VoucherUnavailable,
)
from orders.models import Cart, Order, ShippingMethod
from orders.selectors import (
    cart_get,
    order_get_by_token,
    order_lookup,
    order_number_parse,
    shipping_method_list,
    uuid_parse,
)
from orders.services.validation import address_clean

TAGS = ["store: checkout"]
DELIVERY_REFUSALS = (
    OutsideDeliveryArea,
    BelowDeliveryMinimum,
    DeliveryClosed,
    DeliverySlotFull,
    DeliverySlotUnavailable,
)


class CartMixin(StoreView):
    pagination_class = None

    def cart(self, cart_id: str, with_lines: bool = False) -> Cart:
        """The key's cart; services lock and read it again, so by default without its lines."""
        cart = cart_get(channel=self.channel, cart_id=cart_id, with_lines=with_lines)
        if cart is None:
            raise Http404
        return cart

    def cart_ref(self, cart_id: str) -> Cart:
        """The cart by id in the key's channel, not read: for a service that locks it by both
        (404 for an id that is not one)."""
        pk = uuid_parse(cart_id)
        if pk is None:
            raise Http404
        return Cart(pk=pk, channel=self.channel)

    def cart_response(self, cart_id: str, status_code: int = 200) -> Response:
        cart = self.cart(cart_id, with_lines=True)
        order = (
            Order.objects.filter(cart=cart).first()
            if cart.status == Cart.Status.COMPLETED
            else None
        )
        return Response(cart_data(services.cart_totals(cart=cart), order), status=status_code)


def order_response(order: Order, status_code: int) -> Response:
    return Response(order_data(order), status=status_code)


def placed_response(placed: services.PlacedOrder, status_code: int, new: bool) -> Response:
    """The order as checkout wrote it: nothing is read back (a new order has no tracking)."""
    data = order_data(
        placed.order, lines=placed.lines, events=placed.events, tracking=[] if new else None
    )
    return Response(data, status=status_code)


class CartListView(CartMixin):
    @extend_schema(
        operation_id="store_carts_create",
        tags=TAGS,
        request=CartCreateInput,
        responses={201: CartOutput},
    )
    @raises(InsufficientStock)
    @idempotent
    def post(self, request: Request) -> Response:
        """Create a cart that holds stock.

        Each line reserves its units for the customer until `reserved_until` (the channel's hold
        time). All or nothing: an unknown SKU is 400, a short one 409 `insufficient_stock` with what
        is left per SKU, and then no cart is made and nothing is held.
        """
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
        """Get a cart, priced now.

        Lines and totals at today's channel prices, and until when its stock is held. Reads only.
        """
        return self.cart_response(cart_id)

    @extend_schema(
        operation_id="store_carts_update",
        tags=TAGS,
        request=CartUpdateInput,
        responses={200: CartOutput},
    )
    @raises(CartCompleted, OutsideDeliveryArea, DeliverySlotUnavailable)
    def patch(self, request: Request, cart_id: str) -> Response:
        """Set a cart's contact, address, shipping method, voucher or delivery slot.

        Every field given is checked before any is saved. 409 `cart_completed` once the cart became
        an order. With an on-demand shipping method, an address no delivery zone serves is 422
        `outside_delivery_area`; `delivery_slot` picks a slot of the zone (null: as soon as
        possible), and the cart's `delivery` tells the fee, the arrival and what would stop it.
        """
        payload = CartUpdateInput(data=request.data, partial=True)
        payload.is_valid(raise_exception=True)
        fields = dict(payload.validated_data)
        slot_given = "delivery_slot" in fields
        slot = fields.pop("delivery_slot", None)
        if fields.get("shipping_address"):
            fields["shipping_address"] = address_geocode(
                address_clean(fields["shipping_address"], field="shipping_address")
            )
        cart = self.cart(cart_id)
        with transaction.atomic():  # the delivery checks roll the change back
            services.cart_update(cart=cart, **fields)
            cart_delivery_update(cart=cart, slot_id=slot, slot_given=slot_given)
        return self.cart_response(cart_id)


class CartLinesView(CartMixin):
    @extend_schema(
        operation_id="store_cart_lines_create",
        tags=TAGS,
        request=OrderLineInput,
        responses={201: CartOutput},
    )
    @raises(CartCompleted, InsufficientStock)
    @idempotent(in_service=True)
    def post(self, request: Request, cart_id: str) -> Response:
        """Add units of a SKU to a cart.

        Adds to the SKU's line when there is one, and reserves the extra units (409
        `insufficient_stock` when they are not there, and nothing changes).
        """
        payload = OrderLineInput(data=request.data)
        payload.is_valid(raise_exception=True)
        # The service locks the cart by id and channel and prices it: nothing is read again.
        answer = service_answer(
            request, lambda view: Response(cart_data(view), status=status.HTTP_201_CREATED)
        )
        services.cart_line_add(
            cart=self.cart_ref(cart_id), **payload.validated_data, commit_with=answer
        )
        return answer.response


class CartLineDetailView(CartMixin):
    @extend_schema(
        operation_id="store_cart_lines_update",
        tags=TAGS,
        request=CartLineQuantityInput,
        responses={200: CartOutput},
    )
    @raises(CartCompleted, InsufficientStock)
    def patch(self, request: Request, cart_id: str, line_id: str) -> Response:
        """Change a cart line's quantity.

        The stock hold follows the new quantity (0 removes the line and releases its units).
        """
        payload = CartLineQuantityInput(data=request.data)
        payload.is_valid(raise_exception=True)
        services.cart_line_update(
            cart=self.cart(cart_id), line_id=line_id, quantity=payload.validated_data["quantity"]
        )
        return self.cart_response(cart_id)

    @extend_schema(operation_id="store_cart_lines_destroy", tags=TAGS, responses={200: CartOutput})
    @raises(CartCompleted)
    def delete(self, request: Request, cart_id: str, line_id: str) -> Response:
        """Remove a line from a cart.

        Its held units are released at once; the answer is the cart without it.
        """
        services.cart_line_remove(cart=self.cart(cart_id), line_id=line_id)
        return self.cart_response(cart_id)


class CartReleaseView(CartMixin):
    @extend_schema(
        operation_id="store_carts_release",
        tags=TAGS,
        request=None,
        responses={200: CartOutput},
    )
    @raises(CartCompleted)
    @idempotent
    def post(self, request: Request, cart_id: str) -> Response:
        """Release a cart's held stock now.

        Gives the units back to the channel at once (a chat ended, a shopper left); the lines stay,
        and completing the cart later takes the stock again while it lasts.
        """
        services.cart_release(cart=self.cart(cart_id))
        return self.cart_response(cart_id)


class CartExtendView(CartMixin):
    @extend_schema(
        operation_id="store_carts_extend",
        tags=TAGS,
        request=CartExtendInput,
        responses={200: CartOutput},
    )
    @raises(CartCompleted)
    @idempotent
    def post(self, request: Request, cart_id: str) -> Response:
        """Hold a cart's stock longer.

        Keeps the holds for `seconds` more from now, up to the channel's maximum. 400 when the cart
        holds nothing any more.
        """
        payload = CartExtendInput(data=request.data)
        payload.is_valid(raise_exception=True)
        services.cart_extend(cart=self.cart(cart_id), seconds=payload.validated_data["seconds"])
        return self.cart_response(cart_id)


class CartCompleteView(CartMixin):
    @extend_schema(
        operation_id="store_carts_complete",
        tags=TAGS,
        request=CartCompleteInput,
        responses={201: StoreOrderOutput, 200: StoreOrderOutput},
    )
    @raises(
        InsufficientStock,
        VoucherUnavailable,
        PaymentDeclined,
        LinkUsedUp,
        PaymentProviderUnavailable,
        *DELIVERY_REFUSALS,
    )
    @idempotent(in_service=True)
    def post(self, request: Request, cart_id: str) -> Response:
        """Place the order for a cart.

        The cart's held units become the order's (re-taken from what is available if the hold
        expired), the payment is taken when `payment` is sent, and `order.created` (and
        `order.confirmed` when paid) is sent to webhooks; the customer is emailed. 201 with the new
        order; completing the same cart again answers 200 with that order. 402 `payment_declined`
        leaves no order. With `stripe` the order is `pending_payment`, holding its stock for the
        channel's payment window: confirm `payment_session.client_secret` with Stripe.js; the
        PSP's webhook (or `POST /store/orders/{token}/payment/confirm`) confirms the order. 503
        `payment_provider_unavailable` when the PSP does not answer: no order, the holds stay.
        """
        payload = CartCompleteInput(data=request.data)
        payload.is_valid(raise_exception=True)
        payment = payload.validated_data.get("payment")
        answer = service_answer(
            request,
            lambda result: placed_response(
                result[0], status.HTTP_201_CREATED if result[1] else status.HTTP_200_OK, result[1]
            ),
        )
        services.cart_complete(
            cart=self.cart(cart_id),
            payment=dict(payment) if payment else None,
            actor=request.auth.actor,
            commit_with=answer,
        )
        return answer.response


class CheckoutView(StoreView):
    pagination_class = None

    @extend_schema(
        operation_id="store_checkout",
        tags=TAGS,
        request=CheckoutRequest,
        responses={201: StoreOrderOutput},
    )
    @raises(
        InsufficientStock,
        VoucherUnavailable,
        PaymentDeclined,
        PaymentProviderUnavailable,
        *DELIVERY_REFUSALS,
    )
    @idempotent(in_service=True)
    def post(self, request: Request) -> Response:
        """Place an order in one request.

        For chatbots, links and tills: the lines' stock is allocated to the order at once, prices
        come from the channel, `payment` (optional) is taken, and `order.created` (and
        `order.confirmed` when paid) is sent to webhooks; the customer is emailed. Nothing is
        created or held on any refusal: 409 `insufficient_stock` with what is left per SKU, 402
        `payment_declined`, 503 `payment_provider_unavailable`, 400 for an unknown SKU or a bad
        address. With `stripe` the order is `pending_payment` until the customer confirms the
        payment (see `payment_session`); unpaid at the end of the channel's payment window, it is
        cancelled and its stock released. With an on-demand shipping method the zone's checks
        answer `outside_delivery_area`, `below_delivery_minimum`, `delivery_closed` or, for
        `delivery_slot`, `delivery_slot_full`; the order carries the promised arrival window and
        its delivery is offered to couriers.
        """
        data = checkout_input_plain(request.data)
        if data is None:  # anything but a plainly valid body: the serializer judges it
            payload = CheckoutRequest(data=request.data)
            payload.is_valid(raise_exception=True)
            data = payload.to_checkout_input()
        answer = service_answer(
            request, lambda placed: placed_response(placed, status.HTTP_201_CREATED, new=True)
        )
        services.checkout_direct(
            channel=self.channel,
            data=data,
            actor=request.auth.actor,
            commit_with=answer,
        )
        return answer.response


class StoreOrderView(StoreView):
    pagination_class = None

    @extend_schema(
        operation_id="store_orders_retrieve",
        tags=TAGS,
        responses={200: StoreOrderOutput},
    )
    def get(self, request: Request, token: str) -> Response:
        """Get an order by its token.

        The customer's view of the order (status, lines, totals, timeline, tracking). The token is
        unguessable and grants access to this order only. Reads only.
        """
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
        """List the channel's shipping methods.

        Codes, names and prices to offer at checkout (`shipping_method`). Reads only.
        """
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
        responses={200: StoreOrderOutput},
    )
    @raises(NotFound)
    @idempotent
    def post(self, request: Request) -> Response:
        """Find an order by its number and the customer's email or phone.

        For chatbots: no token needed. The email is compared ignoring case, a phone by its digits,
        and every contact sent must match. Any mismatch, an order of another channel, or an unknown
        number answers the same 404, so the lookup never tells whether an order exists. Reads only.

        Guessing is limited whatever the key allows: after `ORDER_LOOKUP_FAILURES_PER_NUMBER`
        (10) misses on one order number, or `ORDER_LOOKUP_FAILURES_PER_ADDRESS` (30) from one
        client address, in a window of `ORDER_LOOKUP_WINDOW_SECONDS` (900), every lookup of that
        number, or from that address, answers 429 `rate_limited` with `Retry-After`, a right one
        too. Right answers never count; an idempotent replay counts like the lookup it repeats.
        """
        payload = OrderLookupInput(data=request.data)
        payload.is_valid(raise_exception=True)
        order = order_lookup(channel=self.channel, **payload.validated_data)
        if order is None:
            raise Http404
        return order_response(order, status.HTTP_200_OK)


class StoreOrderPaymentConfirmView(StoreView):
    pagination_class = None

    @extend_schema(
        operation_id="store_orders_payment_confirm",
        tags=TAGS,
        request=None,
        responses={200: StoreOrderOutput},
    )
    @raises(PaymentProviderUnavailable)
    @idempotent(own_transactions=True)
    def post(self, request: Request, token: str) -> Response:
        """Tell the server the customer confirmed the payment.

        Call after Stripe.js confirmed the PaymentIntent: the server asks the PSP itself (it never
        takes the client's word) and confirms the order when the PSP says it is paid or
        authorized, exactly once even when the PSP's webhook arrives at the same moment. The
        answer is the order: still `pending_payment` if the PSP is not done yet.
        """
        order = order_get_by_token(channel=self.channel, token=token)
        if order is None:
            raise Http404
        services.payment_confirm(order=order)
        return order_response(order_get_by_token(channel=self.channel, token=token), 200)
