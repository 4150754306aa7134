"""Checkout: a cart, or a single request, becomes an order in one transaction.

Placing an order is four steps, the same for both doors:

1. `_draft_*`: everything decided before anything is written (SKUs sold in the channel,
   prices and totals, shipping, voucher, the payment provider); reads only;
2. `_PaymentGuard`: the provider's answer, before any row is locked (and the money given
   back if the order is not placed after all);
3. `_order_write`: the voucher use, the shop link's order counter, the order with its
   lines, payment, timeline and domain events;
4. `_stock_allocate`: the stock rows, locked last (docs/architecture.md, "Lock order")
   because concurrent checkouts queue on them, so they stay locked only for the stock
   statements and the commit (a completed cart is marked so before).

Any refusal (unknown SKU, no stock, voucher used up, card declined) rolls all of it
back: no order, no held stock, no voucher use; a payment already authorized is given
back once the rows are released. Each door returns a `PlacedOrder`: the order with the
lines and timeline it was written with, which is all its answer shows.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction

from backoffice import task_names
from backoffice.exceptions import ValidationFailed
from backoffice.jobs import enqueue_after_commit
from backoffice.sql import execute, rows_insert
from backoffice.transactions import NO_PARTNER, CommitPartner, Statement
from catalog.models import Channel
from inventory.services import StockLine, stock_allocate, stock_ensure_available
from orders.delivery import shipping_problem
from orders.delivery_hook import DeliveryQuote, delivery_planner
from orders.events import order_domain_events_build, order_events_build
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
from orders.payments import Authorization, PaymentProvider, provider_get
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
    delivery_slot: str | None = None


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
    delivery: DeliveryQuote | None = None  # an on-demand delivery's zone, fee and promise

    @property
    def stock_lines(self) -> list[StockLine]:
        return [StockLine(variant=line.variant, quantity=line.quantity) for line in self.lines]


def _delivers(method: ShippingMethod | None) -> bool:
    return method is not None and method.kind == ShippingMethod.Kind.LOCAL_DELIVERY


def checkout_direct(
    *,
    channel: Channel,
    data: CheckoutInput,
    actor: str = "",
    commit_with: CommitPartner = NO_PARTNER,
) -> PlacedOrder:
    """One request → one order (chatbots, links, POS). Stock is allocated directly.

    Owns its transaction (a caller's, such as a till sale's, makes it a savepoint):
    `commit_with` (the HTTP layer's stored answer) begins first inside it and finishes
    after the order is written, before the stock is locked (see `_stock_allocate`).

    Raises ValidationFailed (also for goods to ship without a complete shipping address),
    InsufficientStock, VoucherUnavailable, PaymentDeclined, and for an on-demand delivery
    the delivery planner's refusals (`orders.delivery_hook`).
    """
    with _PaymentGuard() as payment, transaction.atomic():
        commit_with.begin()
        draft = _draft_checkout(channel=channel, data=data, actor=actor)
        placed = _order_write(draft, payment.authorize(draft), commit_with)
        _stock_allocate(draft, placed.order)
    return placed


def cart_complete(
    *,
    cart: Cart,
    payment: dict[str, Any] | None = None,
    actor: str = "",
    commit_with: CommitPartner = NO_PARTNER,
) -> tuple[PlacedOrder, bool]:
    """Turn a cart into an order; its reservations become allocations.

    Completing a completed cart returns the same order (`created` False). Holds that
    expired are re-taken from what is available, so the order succeeds while stock lasts.
    A cart whose goods ship needs its shipping address set first (ValidationFailed).
    Owns its transaction, with `commit_with` as in `checkout_direct`.
    """
    with _PaymentGuard() as guard, transaction.atomic():
        commit_with.begin()
        cart = cart_lock(cart, "channel", "shipping_method", "voucher")
        if cart.status == Cart.Status.COMPLETED:
            order = Order.objects.select_related("channel").get(cart=cart)
            done = PlacedOrder(order, list(order.lines.all()), list(order.events.all())), False
            _statement_run(commit_with.finish(done))
            return done
        draft = _draft_cart(cart=cart, payment=payment, actor=actor)
        placed = _order_write(draft, guard.authorize(draft), _CartDone(commit_with))
        cart.status = Cart.Status.COMPLETED
        cart.reserved_until = None
        cart.save(update_fields=["status", "reserved_until", "updated_at"])
        _stock_allocate(draft, placed.order)
    return placed, True


# --- 1. The draft: reads and checks, nothing written -------------------------------------
def _draft_checkout(*, channel: Channel, data: CheckoutInput, actor: str) -> OrderDraft:
    lines = lines_clean(data.lines)
    variants = variants_for_sale(
        channel=channel, skus=[line.sku for line in lines], with_available=True
    )
    priced = price_lines(channel=channel, variants=variants, lines=lines)
    # Sold out is the usual answer in a flash sale: give it without queueing for the stock rows
    # (the units available came with the variants, in the same statement).
    stock_ensure_available(
        channel=channel,
        lines=[StockLine(variant=line.variant, quantity=line.quantity) for line in priced],
        available={variant.pk: variant.channel_available for variant in variants.values()},
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
        delivery_slot=data.delivery_slot,
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
    delivery_slot: str | None = None,
    **rest: Any,
) -> OrderDraft:
    """Check voucher, delivery, totals and payment provider; ValidationFailed names the field.

    An order that ships goods needs a complete shipping address (`orders.delivery`). An
    on-demand delivery is quoted by the delivery planner (a cart's slot is the cart's).
    """
    subtotal = sum(line.total for line in lines)
    voucher = voucher_find(channel=channel, code=voucher_code, subtotal=subtotal)
    problem = shipping_problem(channel=channel, method=shipping_method, address=shipping_address)
    if problem:
        raise ValidationFailed({"shipping_address": [problem]})
    delivery = None
    if _delivers(shipping_method):
        delivery = delivery_planner().quote(
            channel=channel,
            address=shipping_address,
            subtotal=subtotal,
            slot=delivery_slot,
            cart=rest.get("cart"),
        )
    totals = compute_totals(
        channel=channel,
        lines=lines,
        shipping_method=shipping_method,
        voucher=voucher,
        delivery_fee=delivery.fee if delivery else None,
    )
    totals_check(lines=lines, totals=totals)
    provider = None
    if payment is not None:
        if not isinstance(payment, dict):
            raise ValidationFailed({"payment": ["Send an object."]})
        provider = provider_get(str(payment.get("provider") or ""))
    return OrderDraft(
        channel=channel,
        lines=lines,
        totals=totals,
        shipping_address=shipping_address,
        shipping_method=shipping_method,
        voucher=voucher,
        payment=payment,
        provider=provider,
        delivery=delivery,
        **rest,
    )


# --- 2. The payment, given back when the order is not placed ------------------------------
class _PaymentGuard:
    """Authorizes a draft's payment, and gives it back if the order is not placed after all.

    Entered outside the order's transaction, so that by the time it gives the money back
    (no stock, the voucher or link used up meanwhile, ...) the rows are rolled back and
    no longer locked.
    """

    def __init__(self) -> None:
        self.draft: OrderDraft | None = None
        self.authorization: Authorization | None = None

    def authorize(self, draft: OrderDraft) -> Authorization | None:
        self.draft, self.authorization = draft, _payment_authorize(draft)
        return self.authorization

    def __enter__(self) -> _PaymentGuard:
        return self

    def __exit__(self, error_type, error, traceback) -> bool:
        if error_type is not None and self.authorization is not None:
            _payment_release(self.draft, self.authorization)
        return False


def _payment_authorize(draft: OrderDraft) -> Authorization | None:
    """The provider's answer; a decline raises here, before anything is written or held."""
    if draft.provider is None:
        return None
    return draft.provider.authorize(
        amount=draft.totals.total, currency=draft.totals.currency, data=draft.payment
    )


def _payment_release(draft: OrderDraft, authorization: Authorization) -> None:
    if authorization.captured:
        draft.provider.refund(reference=authorization.reference, amount=draft.totals.total)
    else:
        draft.provider.void(reference=authorization.reference)


# --- 3. The order ------------------------------------------------------------------------
def _statement_run(statement: Statement | None) -> None:
    if statement is not None:
        execute(*statement)


class _CartDone:
    """A cart's partner: its answer is rendered from (order, created)."""

    def __init__(self, partner: CommitPartner) -> None:
        self.partner = partner

    def finish(self, placed: PlacedOrder) -> Statement | None:
        return self.partner.finish((placed, True))


def _order_write(
    draft: OrderDraft, authorization: Authorization | None, commit_with: CommitPartner
) -> PlacedOrder:
    """3. The voucher use, the order and everything that belongs to it, its domain events,
    and `commit_with`'s answer (rendered from them, stored in the same statement).

    Call inside the order's transaction: the slot, the voucher and the link are counted
    with conditional updates that hold their rows until the commit.
    """
    if draft.delivery is not None:  # a slot's capacity: before the voucher
        delivery_planner().hold(quote=draft.delivery)
    if draft.voucher is not None:
        voucher_use_count(draft.voucher)
    order = _order_new(draft, authorization)
    order.save(force_insert=True)
    # A shop link's order counter (and usage limit): refused here, nothing is kept.
    link_order_record(attribution=draft.attribution, channel=draft.channel)
    lines = [
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
    ]
    timeline = [OrderEvent.Type.PLACED]
    payments = []
    if authorization is not None:
        payments.append(_payment_new(draft, order, authorization))
        timeline.append(
            OrderEvent.Type.PAID if authorization.captured else OrderEvent.Type.PAYMENT_AUTHORIZED
        )
        timeline.append(OrderEvent.Type.CONFIRMED)
    order.delivery_placed = None  # what the response shows: no query to find out
    delivery_events = []
    if draft.delivery is not None:
        record = delivery_planner().record(order=order, quote=draft.delivery, actor=draft.actor)
        order.delivery_placed, delivery_events = record.delivery, record.events
    events = order_events_build(  # one insert, the delivery's first estimate included
        order=order,
        types=timeline,
        actor=draft.actor,
        data={"source": draft.source},
        also=delivery_events,
    )
    domain_events = ["order.created"]
    if order.status == Order.Status.CONFIRMED:
        domain_events.append("order.confirmed")
    outbox = order_domain_events_build(
        order=order, types=domain_events, lines=lines, first_sequence=1
    )
    placed = PlacedOrder(order=order, lines=lines, events=events)
    # Everything that hangs off the new order, and the stored HTTP answer (which shows only
    # what is in memory already), in one statement on PostgreSQL.
    rows_insert(lines, payments, events, outbox, also=lambda: commit_with.finish(placed))
    if order.email or order.status == Order.Status.CONFIRMED:
        # One message for both (the "placed" email, and planning a confirmed order):
        # the worker queues the email as its own task, so a failing email never re-plans.
        enqueue_after_commit(task_names.ORDER_PLACED, order.pk)
    return placed


def _order_new(draft: OrderDraft, authorization: Authorization | None) -> Order:
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
    if authorization is not None:
        order.status = Order.Status.CONFIRMED
        order.payment_status = (
            Order.PaymentStatus.PAID if authorization.captured else Order.PaymentStatus.AUTHORIZED
        )
    return order


def _payment_new(draft: OrderDraft, order: Order, authorization: Authorization) -> Payment:
    total = draft.totals.total
    return Payment(
        order=order,
        provider=draft.provider.name,
        method=authorization.method,
        status=Payment.Status.CAPTURED if authorization.captured else Payment.Status.AUTHORIZED,
        currency=draft.totals.currency,
        amount=total,
        captured_amount=total if authorization.captured else 0,
        reference=authorization.reference,
    )


# --- 4. The stock -----------------------------------------------------------------------
def _stock_allocate(draft: OrderDraft, order: Order) -> None:
    """4. The stock rows, last: the cart's holds become the order's, or it takes what is free.

    Raises InsufficientStock, which rolls the whole order back.

    What runs under the stock lock, from the locking statement to the commit, and why each:
    - `SELECT ... FOR UPDATE` of the lines' stock rows in the channel, by ascending id:
      takes the lock (`inventory.locks`);
    - the active holds of those rows, in a statement of its own: its fresh snapshot sees
      the holds committed by whoever held the lock before (`inventory.available`);
    - a completed cart's own holds deleted (cart only): they become the allocations;
    - `allocated` raised and the allocations inserted: the promise itself;
    - a low-stock event only when a row crosses its threshold (`low_stock_record`);
    - the commit. Nothing else: the order, its lines, payment, timeline, events and the
      stored HTTP answer are written before the lock is taken (`commit_with.finish`),
      and the answer is sent after the commit.
    """
    stock_allocate(
        channel=draft.channel,
        holder=order.holder,
        lines=draft.stock_lines,
        reservation_holder=draft.cart.holder if draft.cart else None,
        # A delivery leaves from its zone's store: the stock must be there.
        warehouse_id=draft.delivery.warehouse_id if draft.delivery else None,
    )
