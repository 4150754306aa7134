"""Checkout: a cart, or a single request, becomes an order.

Both doors share `_order_place`: price the lines, take the voucher use, turn
the cart's reservations into allocations (or allocate directly), write the order,
its lines, payment, timeline and domain events. Any failure (unknown SKU, no stock,
voucher used up, card declined) rolls all of it back: no order, no held stock, no
voucher use.

With a payment, placing is three steps, and the gateway is never called inside a
transaction or under a lock (docs/payments.md):
1. `checkout_prepare` / `cart_prepare`: the draft, and its stock held (a reservation in
   a transaction of its own, or the cart's own holds extended);
2. the payment session opened with the PSP, outside any transaction;
3. `checkout_place` / `cart_place`: the order written with the PSP's answer, the
   holds becoming its allocations. A card the customer confirms later leaves the
   order in `pending_payment`, holding its stock for the channel's payment window.
A `PreparedCheckout` that is not placed (a refusal in step 3, a replayed request)
gives its hold and its session back when it is left (`with`), after the rollback.

Rows are locked in the system's one order (docs/architecture.md, "Lock order"): the
cart (completing one), the voucher, the shop link's counter, then the stock rows, last
because concurrent checkouts queue on them.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from backoffice.exceptions import ValidationFailed
from backoffice.jobs import enqueue_after_commit
from catalog.models import Channel
from inventory.services import (
    StockLine,
    stock_allocate,
    stock_ensure_available,
    stock_extend,
    stock_release,
    stock_reserve,
)
from orders.delivery import shipping_problem
from orders.events import order_domain_events, order_events_write
from orders.link_counters import link_order_record
from orders.locks import cart_lock, voucher_use_count
from orders.models import Cart, Order, OrderEvent, OrderLine, Payment, ShippingMethod, Voucher
from orders.payments.base import AUTHORIZED, SUCCEEDED
from orders.payments.checkout import (
    OpenedSession,
    payment_provider_for,
    session_abandon,
    session_open,
)
from orders.pricing import (
    PricedLine,
    Totals,
    compute_totals,
    price_line,
    price_lines,
    totals_check,
)
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
    totals: Totals | None = None
    session: OpenedSession | None = None
    # The reservation that holds a one-shot checkout's stock while the PSP answers.
    hold: str | None = None


class PreparedCheckout:
    """Steps 1 and 2 done: the draft, its stock held, the PSP's answer; the order not written.

    Use it in a `with` block around step 3: leaving it without an order placed (a refusal,
    a replay) releases the hold and cancels the session, or refunds what it took.
    """

    def __init__(self, placement: _Placement | None, existing: Order | None = None) -> None:
        self.placement = placement
        self.existing = existing
        self.placed: Order | None = None

    def __enter__(self) -> PreparedCheckout:
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self.placed is None and self.placement is not None:
            _prepared_abandon(self.placement)


def checkout_direct(*, channel: Channel, data: CheckoutInput, actor: str = "") -> Order:
    """One request → one order (chatbots, links, POS). Stock is allocated directly.

    Raises ValidationFailed (also for goods to ship without a complete shipping address),
    InsufficientStock, VoucherUnavailable, PaymentDeclined, PaymentProviderUnavailable.
    """
    with checkout_prepare(channel=channel, data=data, actor=actor) as prepared:
        return checkout_place(prepared)


def checkout_prepare(*, channel: Channel, data: CheckoutInput, actor: str = "") -> PreparedCheckout:
    """Steps 1 and 2 of a one-shot checkout: check and price it, hold its stock, open its
    payment session. Call with no transaction open; raises what `checkout_direct` does."""
    lines = lines_clean(data.lines)
    variants = variants_for_sale(channel=channel, skus=[line.sku for line in lines])
    priced = price_lines(channel=channel, variants=variants, lines=lines)
    subtotal = sum(line.total for line in priced)
    # Sold out is the usual answer in a flash sale: give it without queueing for the stock rows.
    stock_ensure_available(
        channel=channel,
        lines=[StockLine(variant=line.variant, quantity=line.quantity) for line in priced],
    )
    placement = _Placement(
        channel=channel,
        lines=priced,
        email=data.email,
        phone=phone_clean(data.phone),
        shipping_address=address_clean(data.shipping_address, field="shipping_address"),
        shipping_method=shipping_method_find(channel=channel, code=data.shipping_method),
        voucher=voucher_find(channel=channel, code=data.voucher_code, subtotal=subtotal),
        payment=data.payment,
        source="checkout",
        attribution=data.attribution,
        actor=actor,
    )
    placement.totals = _placement_check(placement)
    if placement.payment is not None:
        placement.hold = f"checkout:{uuid.uuid4().hex}"
        stock_reserve(
            channel=channel,
            holder=placement.hold,
            lines=_stock_lines(placement),
            ttl_seconds=_payment_hold_seconds(channel),
        )
        _session_open(placement)
    return PreparedCheckout(placement)


def checkout_place(prepared: PreparedCheckout) -> Order:
    """Step 3 of a one-shot checkout: write the order, in one transaction."""
    with transaction.atomic():
        order = _order_place(prepared.placement)
    prepared.placed = order
    return order


def cart_complete(
    *, cart: Cart, payment: dict[str, Any] | None = None, actor: str = ""
) -> tuple[Order, bool]:
    """Turn a cart into an order; its reservations become allocations.

    Completing a completed cart returns the same order (`created` False). Holds that
    expired are re-taken from what is available, so the order succeeds while stock lasts.
    A cart whose goods ship needs its shipping address set first (ValidationFailed).
    """
    with cart_prepare(cart=cart, payment=payment, actor=actor) as prepared:
        return cart_place(prepared)


def cart_prepare(
    *, cart: Cart, payment: dict[str, Any] | None = None, actor: str = ""
) -> PreparedCheckout:
    """Steps 1 and 2 of completing a cart: check and price it, make its holds last while the
    PSP answers, open the payment session (none for a cart completed already).

    Reads the cart without locking it: `cart_place` locks it and refuses a cart that
    changed meanwhile.
    """
    cart = Cart.objects.select_related("channel", "shipping_method", "voucher").get(pk=cart.pk)
    if cart.status == Cart.Status.COMPLETED:
        return PreparedCheckout(None, existing=_cart_order(cart))
    placement = _cart_placement(cart, payment, actor)
    placement.totals = _placement_check(placement)
    if payment is not None:
        seconds = _payment_hold_seconds(cart.channel)
        if stock_extend(channel=cart.channel, holder=cart.holder, seconds=seconds) is None:
            # Every hold expired: take the units again now, before the PSP is asked.
            stock_reserve(
                channel=cart.channel,
                holder=cart.holder,
                lines=_stock_lines(placement),
                ttl_seconds=seconds,
            )
        _session_open(placement)
    return PreparedCheckout(placement)


def cart_place(prepared: PreparedCheckout) -> tuple[Order, bool]:
    """Step 3 of completing a cart: the order, unless the cart became one meanwhile.

    Raises ValidationFailed when the cart was changed after it was prepared (its order
    would not be what the customer last saw).
    """
    if prepared.existing is not None:
        return prepared.existing, False
    placement = prepared.placement
    with transaction.atomic():
        cart = cart_lock(placement.cart)
        if cart.status == Cart.Status.COMPLETED:
            return _cart_order(cart), False  # a concurrent completion won; ours is given back
        if cart.updated_at != placement.cart.updated_at:
            raise ValidationFailed({"lines": ["The cart changed meanwhile: complete it again."]})
        order = _order_place(placement)
        cart.status = Cart.Status.COMPLETED
        cart.reserved_until = None
        cart.save(update_fields=["status", "reserved_until", "updated_at"])
    prepared.placed = order
    return order, True


def _cart_order(cart: Cart) -> Order:
    return Order.objects.select_related("channel").get(cart=cart)


def _cart_placement(cart: Cart, payment: dict[str, Any] | None, actor: str) -> _Placement:
    """The draft of a locked cart, priced now (its prices may have changed since)."""
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
    return _Placement(
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
    )


def _stock_lines(placement: _Placement) -> list[StockLine]:
    return [StockLine(variant=line.variant, quantity=line.quantity) for line in placement.lines]


def _payment_hold_seconds(channel: Channel) -> int:
    """How long the stock is held while the PSP answers: its call's limit, with room."""
    return max(channel.reservation_ttl_seconds, 300)


def _session_open(placement: _Placement) -> None:
    """Step 2: the PSP's answer, with no transaction open; a refusal gives the hold back."""
    provider, capture = payment_provider_for(placement.payment)
    try:
        placement.session = session_open(
            provider=provider,
            capture=capture,
            amount=placement.totals.total,
            currency=placement.totals.currency,
            data=placement.payment,
            metadata={"channel": placement.channel.code, "source": placement.source},
        )
    except BaseException:
        if placement.hold:
            stock_release(holder=placement.hold)
        raise


def _prepared_abandon(placement: _Placement) -> None:
    """A prepared checkout was not placed: its hold and its session go back (no lock held)."""
    if placement.hold:
        stock_release(holder=placement.hold)
    if placement.session is not None:
        session_abandon(
            placement.session,
            amount=placement.totals.total,
            currency=placement.totals.currency,
        )


def _placement_check(placement: _Placement) -> Totals:
    """Delivery, totals and the payment's provider, before anything is held or written.

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
    )
    totals_check(lines=placement.lines, totals=totals)
    payment_provider_for(placement.payment)
    return totals


def _order_place(placement: _Placement) -> Order:
    """Write the order; call inside a transaction, which any refusal here rolls back.

    The totals are checked (`_placement_check`) and the payment session opened before.
    """
    channel = placement.channel
    totals = placement.totals or _placement_check(placement)
    session = placement.session
    # Both callers hold a transaction (with its savepoint): no second savepoint here.
    with transaction.atomic(savepoint=False):
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
        if session is not None:
            _order_payment_state(order, session)
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
        if session is not None:
            timeline += _payment_record(order, session, totals)
        events = order_events_write(
            order=order, types=timeline, actor=placement.actor, data={"source": placement.source}
        )
        domain_events = ["order.created"]
        if order.status == Order.Status.CONFIRMED:
            domain_events.append("order.confirmed")
        order_domain_events(order=order, types=domain_events, lines=order_lines, first_sequence=1)
        if order.status != Order.Status.PENDING_PAYMENT and (
            order.email or order.status == Order.Status.CONFIRMED
        ):
            # One message for both (the "placed" email, and planning a confirmed order):
            # the worker queues the email as its own task, so a failing email never re-plans.
            enqueue_after_commit("fulfillment.tasks.order_placed_task", order.pk)
        # Stock last: its rows are what concurrent checkouts queue on, so they stay locked
        # only for these few statements and the commit (a refusal still rolls back it all,
        # and the session is given back after, by PreparedCheckout).
        stock_allocate(
            channel=channel,
            holder=order.holder,
            lines=_stock_lines(placement),
            reservation_holder=placement.cart.holder if placement.cart else placement.hold,
        )
        # What the response shows is already in memory: no need to read it back.
        order._prefetched_objects_cache = {"lines": order_lines, "events": events}
    return order


def _order_payment_state(order: Order, session: OpenedSession) -> None:
    """The order's state from its session: paid or authorized (confirmed), or waiting for
    the customer to confirm with the PSP until the channel's payment window ends."""
    status = session.state.status
    if status in (SUCCEEDED, AUTHORIZED):
        order.status = Order.Status.CONFIRMED
        order.payment_status = (
            Order.PaymentStatus.PAID if status == SUCCEEDED else Order.PaymentStatus.AUTHORIZED
        )
    else:
        order.status = Order.Status.PENDING_PAYMENT
        order.payment_due_at = timezone.now() + timedelta(
            minutes=order.channel.payment_window_minutes
        )


def _payment_record(order: Order, session: OpenedSession, totals: Totals) -> list[str]:
    """The order's payment row from its session; returns the timeline entries it makes."""
    state = session.state
    status = {
        SUCCEEDED: Payment.Status.CAPTURED,
        AUTHORIZED: Payment.Status.AUTHORIZED,
    }.get(state.status, Payment.Status.PENDING)
    Payment.objects.create(
        order=order,
        provider=session.provider.name,
        method=state.method,
        status=status,
        currency=totals.currency,
        amount=totals.total,
        captured_amount=totals.total if status == Payment.Status.CAPTURED else 0,
        reference=state.reference,
        client_secret=state.client_secret if status == Payment.Status.PENDING else "",
        capture_method=session.capture,
    )
    if status == Payment.Status.PENDING:
        return [OrderEvent.Type.PAYMENT_PENDING]
    paid = OrderEvent.Type.PAID if status == Payment.Status.CAPTURED else None
    return [paid or OrderEvent.Type.PAYMENT_AUTHORIZED, OrderEvent.Type.CONFIRMED]
