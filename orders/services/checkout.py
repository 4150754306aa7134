"""Checkout: a cart, or a single request, becomes an order.

Placing an order is five steps, the same for both doors:

1. `_draft_*`: everything decided before anything is written (SKUs sold in the channel,
   prices and totals, shipping, voucher, the payment provider); reads only;
2. `_stock_hold`: with a payment, its stock held before the PSP is asked: a reservation
   in a transaction of its own (a cart's own holds are extended instead);
3. `_session_open`: the PSP's answer (`orders.payments.checkout`), with no transaction
   open and no row locked;
4. `_order_write`: the voucher use, the shop link's order counter, the order with its
   lines, payment, timeline and domain events; a card the customer confirms later
   leaves the order in `pending_payment`, holding its stock for the payment window;
5. `_stock_allocate`: the stock rows, locked last (docs/architecture.md, "Lock order")
   because concurrent checkouts queue on them, so they stay locked only for the stock
   statements and the commit (a completed cart is marked so before); the hold becomes
   the order's allocation.

Steps 1-3 are `checkout_prepare` / `cart_prepare`, steps 4-5 `checkout_place` /
`cart_place`, one transaction: the HTTP layer stores its idempotent answer in that one.
Any refusal (unknown SKU, no stock, voucher used up, card declined) leaves no order, no
held stock, no voucher use; a `PreparedCheckout` that is not placed gives its hold and
its session back when it is left (`with`), after the rollback. Each door returns a
`PlacedOrder`: the order with the lines and timeline it was written with, which is all
its answer shows.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from backoffice import task_names
from backoffice.exceptions import ValidationFailed
from backoffice.jobs import enqueue_after_commit
from catalog.models import Channel
from inventory.services import (
    StockLine,
    stock_allocate,
    stock_allocate_held,
    stock_ensure_available,
    stock_extend,
    stock_release,
    stock_reserve,
)
from orders.delivery import shipping_problem
from orders.events import order_domain_events, order_events_write
from orders.links.counters import link_order_record
from orders.locks import cart_lock, voucher_use_count
from orders.models import (
    Cart,
    Order,
    OrderEvent,
    OrderLine,
    Payment,
    ShippingMethod,
    Voucher,
)
from orders.payments import PaymentProvider
from orders.payments.base import AUTHORIZED, CAPTURE_AUTOMATIC, SUCCEEDED
from orders.payments.checkout import (
    OpenedSession,
    payment_provider_for,
    session_abandon,
    session_open,
)
from orders.pricing import PricedLine, Totals, compute_totals, price_line, price_lines, totals_check
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


@dataclass(frozen=True)
class PlacedOrder:
    """An order as checkout wrote it, with its lines and timeline: what its answer shows,
    without reading any of it back."""

    order: Order
    lines: list[OrderLine]
    events: list[OrderEvent]


@dataclass(frozen=True)
class OrderDraft:
    """An order decided but not written: priced, totalled, its delivery and payment checked."""

    channel: Channel
    lines: list[PricedLine]
    totals: Totals
    email: str
    phone: str
    shipping_address: dict | None
    shipping_method: ShippingMethod | None
    voucher: Voucher | None
    payment: dict[str, Any] | None
    provider: PaymentProvider | None
    source: str
    attribution: dict[str, Any]
    actor: str
    cart: Cart | None = None
    capture: str = CAPTURE_AUTOMATIC

    @property
    def stock_lines(self) -> list[StockLine]:
        return [StockLine(variant=line.variant, quantity=line.quantity) for line in self.lines]


class PreparedCheckout:
    """Steps 1 to 3 done: the draft, its stock held, the PSP's answer; the order not written.

    Use it in a `with` block around steps 4 and 5: leaving it without an order placed (a
    refusal, a replayed request) releases the hold and cancels the session, or refunds
    what it took, with no transaction open any more.
    """

    def __init__(
        self,
        draft: OrderDraft | None,
        *,
        hold: str | None = None,
        existing: PlacedOrder | None = None,
    ) -> None:
        self.draft = draft
        self.hold = hold
        self.session: OpenedSession | None = None
        self.existing = existing
        self.placed: PlacedOrder | None = None

    def __enter__(self) -> PreparedCheckout:
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self.placed is None and self.draft is not None:
            _prepared_abandon(self)


def checkout_direct(*, channel: Channel, data: CheckoutInput, actor: str = "") -> PlacedOrder:
    """One request → one order (chatbots, links, POS). Stock is allocated directly.

    Raises ValidationFailed (also for goods to ship without a complete shipping address),
    InsufficientStock, VoucherUnavailable, PaymentDeclined, PaymentProviderUnavailable.
    """
    with checkout_prepare(channel=channel, data=data, actor=actor) as prepared:
        return checkout_place(prepared)


def checkout_prepare(*, channel: Channel, data: CheckoutInput, actor: str = "") -> PreparedCheckout:
    """Steps 1 to 3 of a one-shot checkout: the draft, its stock held, its payment session
    opened. Call with no transaction open; raises what `checkout_direct` does."""
    draft = _draft_checkout(channel=channel, data=data, actor=actor)
    prepared = PreparedCheckout(draft)
    if draft.provider is not None:
        prepared.hold = _stock_hold(draft)
        _session_open(prepared)
    return prepared


def checkout_place(prepared: PreparedCheckout) -> PlacedOrder:
    """Steps 4 and 5 of a one-shot checkout, in one transaction."""
    with transaction.atomic():
        placed = _order_write(prepared.draft, prepared.session)
        _stock_allocate(prepared.draft, placed.order, hold=prepared.hold)
    prepared.placed = placed
    return placed


def cart_complete(
    *, cart: Cart, payment: dict[str, Any] | None = None, actor: str = ""
) -> tuple[PlacedOrder, bool]:
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
    """Steps 1 to 3 of completing a cart: the draft, its holds made to last while the PSP
    answers, its payment session opened (nothing for a cart completed already).

    Reads the cart without locking it: `cart_place` locks it and refuses a cart that
    changed meanwhile.
    """
    cart = Cart.objects.select_related("channel", "shipping_method", "voucher").get(pk=cart.pk)
    if cart.status == Cart.Status.COMPLETED:
        return PreparedCheckout(None, existing=_placed_of(cart))
    prepared = PreparedCheckout(_draft_cart(cart=cart, payment=payment, actor=actor))
    if prepared.draft.provider is not None:
        _cart_hold_extend(prepared.draft)
        _session_open(prepared)
    return prepared


def cart_place(prepared: PreparedCheckout) -> tuple[PlacedOrder, bool]:
    """Steps 4 and 5 of completing a cart, in one transaction: the order, unless the cart
    became one meanwhile (then that one, `created` False).

    Raises ValidationFailed when the cart was changed after it was prepared (its order
    would not be what the customer last saw).
    """
    if prepared.existing is not None:
        return prepared.existing, False
    draft = prepared.draft
    with transaction.atomic():
        cart = cart_lock(draft.cart)
        if cart.status == Cart.Status.COMPLETED:
            return _placed_of(cart), False  # a concurrent completion won; ours is given back
        if cart.updated_at != draft.cart.updated_at:
            raise ValidationFailed({"lines": ["The cart changed meanwhile: complete it again."]})
        placed = _order_write(draft, prepared.session)
        cart.status = Cart.Status.COMPLETED
        cart.reserved_until = None
        cart.save(update_fields=["status", "reserved_until", "updated_at"])
        _stock_allocate(draft, placed.order)
    prepared.placed = placed
    return placed, True


def _placed_of(cart: Cart) -> PlacedOrder:
    order = Order.objects.select_related("channel").get(cart=cart)
    return PlacedOrder(order, list(order.lines.all()), list(order.events.all()))


# --- 1. The draft: reads and checks, nothing written -------------------------------------
def _draft_checkout(*, channel: Channel, data: CheckoutInput, actor: str) -> OrderDraft:
    lines = lines_clean(data.lines)
    variants = variants_for_sale(channel=channel, skus=[line.sku for line in lines])
    priced = price_lines(channel=channel, variants=variants, lines=lines)
    # Sold out is the usual answer in a flash sale: give it without queueing for the stock rows.
    stock_ensure_available(
        channel=channel,
        lines=[StockLine(variant=line.variant, quantity=line.quantity) for line in priced],
    )
    return _draft(
        channel=channel,
        lines=priced,
        email=data.email,
        phone=phone_clean(data.phone),
        shipping_address=address_clean(data.shipping_address, field="shipping_address"),
        shipping_method=shipping_method_find(channel=channel, code=data.shipping_method),
        voucher_code=data.voucher_code,
        payment=data.payment,
        source="checkout",
        attribution=data.attribution,
        actor=actor,
    )


def _draft_cart(*, cart: Cart, payment: dict[str, Any] | None, actor: str) -> OrderDraft:
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
    return _draft(
        channel=channel,
        lines=priced,
        email=cart.email,
        phone=cart.phone,
        shipping_address=cart.shipping_address,
        shipping_method=cart.shipping_method,
        voucher_code=cart.voucher.code if cart.voucher_id else None,
        payment=payment,
        source="cart",
        attribution=cart.attribution,
        actor=actor,
        cart=cart,
    )


def _draft(
    *,
    channel: Channel,
    lines: list[PricedLine],
    shipping_address: dict | None,
    shipping_method: ShippingMethod | None,
    voucher_code: str | None,
    payment: dict[str, Any] | None,
    **rest: Any,
) -> OrderDraft:
    """Check voucher, delivery, totals and payment provider; ValidationFailed names the field.

    An order that ships goods needs a complete shipping address (`orders.delivery`).
    """
    subtotal = sum(line.total for line in lines)
    voucher = voucher_find(channel=channel, code=voucher_code, subtotal=subtotal)
    problem = shipping_problem(channel=channel, method=shipping_method, address=shipping_address)
    if problem:
        raise ValidationFailed({"shipping_address": [problem]})
    totals = compute_totals(
        channel=channel, lines=lines, shipping_method=shipping_method, voucher=voucher
    )
    totals_check(lines=lines, totals=totals)
    provider, capture = payment_provider_for(payment) or (None, CAPTURE_AUTOMATIC)
    return OrderDraft(
        channel=channel,
        lines=lines,
        totals=totals,
        shipping_address=shipping_address,
        shipping_method=shipping_method,
        voucher=voucher,
        payment=payment,
        provider=provider,
        capture=capture,
        **rest,
    )


# --- 2. The stock held, 3. the PSP asked ------------------------------------------------
def _stock_hold(draft: OrderDraft) -> str:
    """Hold a one-shot checkout's units while the PSP answers: a reservation of its own,
    committed before the call (InsufficientStock before anything is asked)."""
    holder = f"checkout:{uuid.uuid4().hex}"
    stock_reserve(
        channel=draft.channel,
        holder=holder,
        lines=draft.stock_lines,
        ttl_seconds=_payment_hold_seconds(draft.channel),
        fresh=True,
    )
    return holder


def _cart_hold_extend(draft: OrderDraft) -> None:
    """Make a cart's holds last while the PSP answers; if every one lapsed, take the units
    again now, before the PSP is asked."""
    channel, holder, seconds = (
        draft.channel,
        draft.cart.holder,
        _payment_hold_seconds(draft.channel),
    )
    if stock_extend(channel=channel, holder=holder, seconds=seconds) is None:
        stock_reserve(channel=channel, holder=holder, lines=draft.stock_lines, ttl_seconds=seconds)


def _payment_hold_seconds(channel: Channel) -> int:
    """How long the stock is held while the PSP answers: its calls' limit, with room."""
    return max(channel.reservation_ttl_seconds, 300)


def _session_open(prepared: PreparedCheckout) -> None:
    """Step 3: the PSP's answer, with no transaction open; a refusal gives the hold back."""
    draft = prepared.draft
    try:
        prepared.session = session_open(
            provider=draft.provider,
            capture=draft.capture,
            amount=draft.totals.total,
            currency=draft.totals.currency,
            data=draft.payment,
            metadata={"channel": draft.channel.code, "source": draft.source},
        )
    except BaseException:
        if prepared.hold:
            stock_release(holder=prepared.hold)
        raise


def _prepared_abandon(prepared: PreparedCheckout) -> None:
    """A prepared checkout was not placed: its hold and its session go back (no lock held)."""
    if prepared.hold:
        stock_release(holder=prepared.hold)
    if prepared.session is not None:
        totals = prepared.draft.totals
        session_abandon(prepared.session, amount=totals.total, currency=totals.currency)


# --- 3. The order ------------------------------------------------------------------------
def _order_write(draft: OrderDraft, session: OpenedSession | None) -> PlacedOrder:
    """3. The voucher use, the order and everything that belongs to it, its domain events.

    Call inside the order's transaction: the voucher and the link are counted with
    conditional updates that hold their rows until the commit.
    """
    if draft.voucher is not None:
        voucher_use_count(draft.voucher)
    order = _order_new(draft, session)
    order.save(force_insert=True)
    # A shop link's order counter (and usage limit): refused here, nothing is kept.
    link_order_record(attribution=draft.attribution, channel=draft.channel)
    lines = OrderLine.objects.bulk_create(
        OrderLine(
            order=order,
            variant=line.variant,
            sku=line.sku,
            name=line.name,
            quantity=line.quantity,
            unit_price=line.unit_price,
            total=line.total,
        )
        for line in draft.lines
    )
    timeline = [OrderEvent.Type.PLACED]
    if session is not None:
        timeline += _payment_record(draft, order, session)
    events = order_events_write(
        order=order, types=timeline, actor=draft.actor, data={"source": draft.source}
    )
    domain_events = ["order.created"]
    if order.status == Order.Status.CONFIRMED:
        domain_events.append("order.confirmed")
    order_domain_events(order=order, types=domain_events, lines=lines, first_sequence=1)
    # An order waiting for its payment is announced to the customer once paid (settlement).
    if order.status != Order.Status.PENDING_PAYMENT and (
        order.email or order.status == Order.Status.CONFIRMED
    ):
        # One message for both (the "placed" email, and planning a confirmed order):
        # the worker queues the email as its own task, so a failing email never re-plans.
        enqueue_after_commit(task_names.ORDER_PLACED, order.pk)
    return PlacedOrder(order=order, lines=lines, events=events)


def _order_new(draft: OrderDraft, session: OpenedSession | None) -> Order:
    totals, channel, method, voucher = (
        draft.totals,
        draft.channel,
        draft.shipping_method,
        draft.voucher,
    )
    order = Order(
        token=uuid.uuid4(),
        channel=channel,
        cart=draft.cart,
        currency=totals.currency,
        email=draft.email,
        phone=draft.phone,
        shipping_address=draft.shipping_address,
        shipping_method=method,
        shipping_method_name=method.name if method else "",
        voucher=voucher,
        voucher_code=voucher.code if voucher else "",
        subtotal=totals.subtotal,
        shipping=totals.shipping,
        discount=totals.discount,
        tax=totals.tax,
        total=totals.total,
        tax_rate=channel.tax_rate,
        prices_include_tax=channel.prices_include_tax,
        source=draft.source,
        attribution=draft.attribution,
        placed_by=draft.actor,
    )
    if session is not None:
        _order_payment_state(order, session)
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


def _payment_record(draft: OrderDraft, order: Order, session: OpenedSession) -> list[str]:
    """The order's payment from its session; returns the timeline entries it makes."""
    state, total = session.state, draft.totals.total
    status = {
        SUCCEEDED: Payment.Status.CAPTURED,
        AUTHORIZED: Payment.Status.AUTHORIZED,
    }.get(state.status, Payment.Status.PENDING)
    Payment.objects.create(
        order=order,
        provider=session.provider.name,
        method=state.method,
        status=status,
        currency=draft.totals.currency,
        amount=total,
        captured_amount=total if status == Payment.Status.CAPTURED else 0,
        reference=state.reference,
        client_secret=state.client_secret if status == Payment.Status.PENDING else "",
        capture_method=session.capture,
    )
    if status == Payment.Status.PENDING:
        return [OrderEvent.Type.PAYMENT_PENDING]
    paid = OrderEvent.Type.PAID if status == Payment.Status.CAPTURED else None
    return [paid or OrderEvent.Type.PAYMENT_AUTHORIZED, OrderEvent.Type.CONFIRMED]


# --- 4. The stock -----------------------------------------------------------------------
def _stock_allocate(draft: OrderDraft, order: Order, *, hold: str | None = None) -> None:
    """5. The stock rows, last: the cart's holds (or the checkout's `hold`) become the
    order's, or it takes what is free.

    Raises InsufficientStock, which rolls the whole order back.
    """
    if hold is not None:  # a one-shot checkout's own hold: its units are already counted out
        stock_allocate_held(
            channel=draft.channel, holder=order.holder, hold=hold, lines=draft.stock_lines
        )
        return
    stock_allocate(
        channel=draft.channel,
        holder=order.holder,
        lines=draft.stock_lines,
        reservation_holder=draft.cart.holder if draft.cart else hold,
    )
