"""Checkout: a cart, or a single request, becomes an order in one transaction.

Both doors share `_order_place`: price the lines, take the voucher use, turn
the cart's reservations into allocations (or allocate directly), authorize the
payment, write the order, its lines, payment, timeline and domain events. Any
failure (unknown SKU, no stock, voucher used up, card declined) rolls all of it
back: no order, no held stock, no voucher use.

Rows are locked in the system's one order (docs/architecture.md, "Lock order"): the
cart (completing one), the voucher, the shop link's counter, then the stock rows, last
because concurrent checkouts queue on them.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction

from backoffice.exceptions import ValidationFailed
from backoffice.jobs import enqueue_after_commit
from catalog.models import Channel
from inventory.errors import InsufficientStock
from inventory.services import StockLine, stock_allocate, stock_ensure_available
from orders.delivery import shipping_problem
from orders.delivery_hook import DeliveryQuote, delivery_planner
from orders.events import order_domain_events, order_events_write
from orders.link_counters import link_order_record
from orders.locks import cart_lock, voucher_use_count
from orders.models import Cart, Order, OrderEvent, OrderLine, Payment, ShippingMethod, Voucher
from orders.payments import provider_get
from orders.pricing import PricedLine, compute_totals, price_line, price_lines, totals_check
from orders.selectors import variants_for_sale
from orders.services.validation import (
    LineRequest,
    address_clean,
    lines_clean,
    phone_clean,
    shipping_method_find,
    voucher_find,
)


@dataclass
class CheckoutInput:
    lines: list[LineRequest]
    email: str = ""
    phone: str = ""
    shipping_address: dict | None = None
    shipping_method: str | None = None
    voucher_code: str | None = None
    payment: dict[str, Any] | None = None
    attribution: dict[str, Any] = field(default_factory=dict)
    delivery_slot: str | None = None


@dataclass
class _Placement:
    channel: Channel
    lines: list[PricedLine]
    email: str
    phone: str
    shipping_address: dict | None
    shipping_method: ShippingMethod | None
    voucher: Voucher | None
    payment: dict[str, Any] | None
    source: str
    attribution: dict[str, Any]
    actor: str
    cart: Cart | None = None
    delivery: DeliveryQuote | None = None


def _delivers(method: ShippingMethod | None) -> bool:
    return method is not None and method.kind == ShippingMethod.Kind.LOCAL_DELIVERY


def checkout_direct(*, channel: Channel, data: CheckoutInput, actor: str = "") -> Order:
    """One request → one order (chatbots, links, POS). Stock is allocated directly.

    Raises ValidationFailed (also for goods to ship without a complete shipping address),
    InsufficientStock, VoucherUnavailable, PaymentDeclined, and for an on-demand delivery
    the delivery planner's refusals (`orders.delivery_hook`).
    """
    lines = lines_clean(data.lines)
    variants = variants_for_sale(channel=channel, skus=[line.sku for line in lines])
    priced = price_lines(channel=channel, variants=variants, lines=lines)
    subtotal = sum(line.total for line in priced)
    # Sold out is the usual answer in a flash sale: give it without queueing for the stock rows.
    stock_ensure_available(
        channel=channel,
        lines=[StockLine(variant=line.variant, quantity=line.quantity) for line in priced],
    )
    address = address_clean(data.shipping_address, field="shipping_address")
    method = shipping_method_find(channel=channel, code=data.shipping_method)
    placement = _Placement(
        channel=channel,
        lines=priced,
        email=data.email,
        phone=phone_clean(data.phone),
        shipping_address=address,
        shipping_method=method,
        voucher=voucher_find(channel=channel, code=data.voucher_code, subtotal=subtotal),
        payment=data.payment,
        source="checkout",
        attribution=data.attribution,
        actor=actor,
        delivery=delivery_planner().quote(
            channel=channel, address=address, subtotal=subtotal, slot=data.delivery_slot
        )
        if _delivers(method)
        else None,
    )
    with transaction.atomic():
        return _order_place(placement)


def cart_complete(
    *, cart: Cart, payment: dict[str, Any] | None = None, actor: str = ""
) -> tuple[Order, bool]:
    """Turn a cart into an order; its reservations become allocations.

    Completing a completed cart returns the same order (`created` False). Holds that
    expired are re-taken from what is available, so the order succeeds while stock lasts.
    A cart whose goods ship needs its shipping address set first (ValidationFailed).
    """
    with transaction.atomic():
        cart = cart_lock(cart, "channel", "shipping_method", "voucher")
        if cart.status == Cart.Status.COMPLETED:
            return Order.objects.select_related("channel").get(cart=cart), False
        lines = list(cart.lines.select_related("variant"))
        if not lines:
            raise ValidationFailed({"lines": ["The cart is empty."]})
        channel = cart.channel
        variants = variants_for_sale(channel=channel, skus=[line.variant.sku for line in lines])
        priced = [
            price_line(channel=channel, variant=variants[line.variant.sku], quantity=line.quantity)
            for line in lines
        ]
        voucher = None
        if cart.voucher_id:
            voucher = voucher_find(
                channel=channel,
                code=cart.voucher.code,
                subtotal=sum(line.total for line in priced),
            )
        delivery = None
        if _delivers(cart.shipping_method):
            delivery = delivery_planner().quote(
                channel=channel,
                address=cart.shipping_address,
                subtotal=sum(line.total for line in priced),
                cart=cart,
            )
        order = _order_place(
            _Placement(
                channel=channel,
                lines=priced,
                email=cart.email,
                phone=cart.phone,
                shipping_address=cart.shipping_address,
                shipping_method=cart.shipping_method,
                voucher=voucher,
                payment=payment,
                source="cart",
                attribution=cart.attribution,
                actor=actor,
                cart=cart,
                delivery=delivery,
            )
        )
        cart.status = Cart.Status.COMPLETED
        cart.reserved_until = None
        cart.save(update_fields=["status", "reserved_until", "updated_at"])
    return order, True


def _release_payment(provider, authorization, amount) -> None:
    if authorization.captured:
        provider.refund(reference=authorization.reference, amount=amount)
    else:
        provider.void(reference=authorization.reference)


def _order_place(placement: _Placement) -> Order:
    """Write the order; call inside a transaction, which any refusal here rolls back.

    An order that ships goods needs a complete shipping address (`orders.delivery`).
    """
    channel = placement.channel
    problem = shipping_problem(
        channel=channel, method=placement.shipping_method, address=placement.shipping_address
    )
    if problem:
        raise ValidationFailed({"shipping_address": [problem]})
    totals = compute_totals(
        channel=channel,
        lines=placement.lines,
        shipping_method=placement.shipping_method,
        voucher=placement.voucher,
        delivery_fee=placement.delivery.fee if placement.delivery else None,
    )
    totals_check(lines=placement.lines, totals=totals)
    provider = None
    if placement.payment is not None:
        if not isinstance(placement.payment, dict):
            raise ValidationFailed({"payment": ["Send an object."]})
        provider = provider_get(str(placement.payment.get("provider") or ""))
    # Both callers hold a transaction (with its savepoint): no second savepoint here.
    with transaction.atomic(savepoint=False):
        if placement.delivery is not None:  # a slot's capacity: before the voucher
            delivery_planner().hold(quote=placement.delivery)
        if placement.voucher is not None:
            voucher_use_count(placement.voucher)
        order = Order(
            token=uuid.uuid4(),
            channel=channel,
            cart=placement.cart,
            currency=totals.currency,
            email=placement.email,
            phone=placement.phone,
            shipping_address=placement.shipping_address,
            shipping_method=placement.shipping_method,
            shipping_method_name=placement.shipping_method.name
            if placement.shipping_method
            else "",
            voucher=placement.voucher,
            voucher_code=placement.voucher.code if placement.voucher else "",
            subtotal=totals.subtotal,
            shipping=totals.shipping,
            discount=totals.discount,
            tax=totals.tax,
            total=totals.total,
            tax_rate=channel.tax_rate,
            prices_include_tax=channel.prices_include_tax,
            source=placement.source,
            attribution=placement.attribution,
            placed_by=placement.actor,
        )
        authorization = None
        if provider is not None:
            # A decline raises here and rolls back the voucher use; nothing is held yet.
            authorization = provider.authorize(
                amount=totals.total, currency=totals.currency, data=placement.payment
            )
            order.status = Order.Status.CONFIRMED
            order.payment_status = (
                Order.PaymentStatus.PAID
                if authorization.captured
                else Order.PaymentStatus.AUTHORIZED
            )
        order.save(force_insert=True)
        # A shop link's order counter (and usage limit): refused here, nothing is kept.
        link_order_record(attribution=placement.attribution, channel=channel)
        order_lines = OrderLine.objects.bulk_create(
            OrderLine(
                order=order,
                variant=line.variant,
                sku=line.sku,
                name=line.name,
                quantity=line.quantity,
                unit_price=line.unit_price,
                total=line.total,
            )
            for line in placement.lines
        )
        timeline = [OrderEvent.Type.PLACED]
        if authorization is not None:
            Payment.objects.create(
                order=order,
                provider=provider.name,
                method=authorization.method,
                status=Payment.Status.CAPTURED
                if authorization.captured
                else Payment.Status.AUTHORIZED,
                currency=totals.currency,
                amount=totals.total,
                captured_amount=totals.total if authorization.captured else 0,
                reference=authorization.reference,
            )
            timeline.append(
                OrderEvent.Type.PAID
                if authorization.captured
                else OrderEvent.Type.PAYMENT_AUTHORIZED
            )
            timeline.append(OrderEvent.Type.CONFIRMED)
        order.delivery_placed = None  # what the response shows: no query to find out
        delivery_events = []
        if placement.delivery is not None:
            record = delivery_planner().record(
                order=order, quote=placement.delivery, actor=placement.actor
            )
            order.delivery_placed, delivery_events = record.delivery, record.events
        events = order_events_write(  # one insert, the delivery's first estimate included
            order=order,
            types=timeline,
            actor=placement.actor,
            data={"source": placement.source},
            also=delivery_events,
        )
        domain_events = ["order.created"]
        if order.status == Order.Status.CONFIRMED:
            domain_events.append("order.confirmed")
        order_domain_events(order=order, types=domain_events, lines=order_lines, first_sequence=1)
        if order.email or order.status == Order.Status.CONFIRMED:
            # One message for both (the "placed" email, and planning a confirmed order):
            # the worker queues the email as its own task, so a failing email never re-plans.
            enqueue_after_commit("fulfillment.tasks.order_placed_task", order.pk)
        # Stock last: its rows are what concurrent checkouts queue on, so they stay locked
        # only for these few statements and the commit (a refusal still rolls back it all).
        try:
            stock_allocate(
                channel=channel,
                holder=order.holder,
                lines=[
                    StockLine(variant=line.variant, quantity=line.quantity)
                    for line in placement.lines
                ],
                reservation_holder=placement.cart.holder if placement.cart else None,
                # A delivery leaves from its zone's store: the stock must be there.
                warehouse_id=placement.delivery.warehouse_id if placement.delivery else None,
            )
        except InsufficientStock:
            # Our rows roll back; a gateway's authorization does not: give the money back.
            if authorization is not None:
                _release_payment(provider, authorization, totals.total)
            raise
        # What the response shows is already in memory: no need to read it back.
        order._prefetched_objects_cache = {"lines": order_lines, "events": events}
    return order
