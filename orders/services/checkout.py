"""Checkout: a cart, or a single request, becomes an order.

Placing an order is five steps, the same for both doors:

1. `_draft_*`: everything decided before anything is written (SKUs sold in the channel,
   prices and totals, shipping, voucher, the payment provider); reads only;
2. `_stock_hold`: with a payment, its stock held before the PSP is asked: a reservation
   taken by one autocommitted statement on the stock rows' counter (a cart's own holds
   are extended instead);
3. `_session_open`: the PSP's answer (`orders.payments.checkout`), with no transaction
   open and no row locked; paid or authorized, `_hold_allocate` turns a one-shot
   checkout's hold into an allocation under the hold's name, one autocommitted
   statement (the only one, with the hold's, under the stock lock);
4. `_order_write`: the voucher use, the shop link's order counter, the order with its
   lines, payment, timeline and domain events; a card the customer confirms later
   leaves the order in `pending_payment`, holding its stock for the payment window;
5. `_stock_allocate`: an allocation made in step 3 given to the order (its rows
   relabelled in step 4's last statement: no stock row locked in the order's
   transaction); otherwise the stock rows, locked last (docs/architecture.md, "Lock order")
   because concurrent checkouts queue on them, so they stay locked only for the stock
   statements and the commit (a completed cart is marked so before); the hold becomes
   the order's allocation.

Each door owns its transactions (`backoffice.transactions`): steps 2 and 3 run before
the order's transaction, step 2 as one statement committed by itself, step 3 in none;
steps 4 and 5 are the order's transaction, which `commit_with` (the HTTP layer's
stored answer) begins first and finishes inside step 4's last statement, before the
stock is locked. Without a payment, steps 2 and 3 are skipped and step 5 takes the
units from what is free.
Any refusal (unknown SKU, no stock, voucher used up, card declined) leaves no order, no
held stock, no voucher use; a hold (or the allocation made of it) and a session that led
to no order are given back after the rollback (`_Prepared`); a process that died in
between leaves an allocation the sweep gives back (`inventory.tasks`). Each door returns a
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
from backoffice.sql import execute, rows_insert
from backoffice.transactions import NO_PARTNER, CommitPartner, Statement
from catalog.models import Channel
from inventory.services import (
    StockLine,
    allocation_relabel_sql,
    stock_allocate,
    stock_allocate_held,
    stock_allocate_hold,
    stock_allocation_relabel,
    stock_deallocate,
    stock_ensure_available,
    stock_extend,
    stock_release,
    stock_reserve,
)
from orders.delivery import shipping_problem
from orders.delivery_hook import DeliveryQuote, delivery_planner
from orders.events import order_domain_events_build, order_events_build
from orders.links.counters import link_order_record
from orders.locks import voucher_use_count
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
    delivery_slot: str | None = None


@dataclass(frozen=True)
class PlacedOrder:
    """An order as checkout wrote it, with its lines and timeline: what its answer shows,
    without reading any of it back."""

    order: Order
    lines: list[OrderLine]
    events: list[OrderEvent]
    relabelled: int | None = None  # the checkout's allocation rows given to it, if asked


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
    delivery: DeliveryQuote | None = None  # an on-demand delivery's zone, fee and promise

    @property
    def stock_lines(self) -> list[StockLine]:
        return [StockLine(variant=line.variant, quantity=line.quantity) for line in self.lines]


class _Prepared:
    """Steps 2 and 3 of a checkout (its stock held, the PSP's answer) and their undoing.

    Use it in a `with` block around the order's transaction: leaving it without an order
    placed (a refusal, a replayed request, a concurrent completion) releases the hold and
    cancels the session, or refunds what it took, after the rollback, with no transaction
    open and no row locked.
    """

    def __init__(self, draft: OrderDraft) -> None:
        self.draft = draft
        self.hold: str | None = None
        self.allocated = 0  # allocation rows already written under `hold` (paid or authorized)
        self.session: OpenedSession | None = None
        self.placed: PlacedOrder | None = None

    def __enter__(self) -> _Prepared:
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self.placed is None:
            _prepared_abandon(self)


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
    InsufficientStock, VoucherUnavailable, PaymentDeclined, PaymentProviderUnavailable, and
    for an on-demand delivery the delivery planner's refusals (`orders.delivery_hook`).

    With a payment, its stock is held (one autocommitted statement) and the PSP asked (no
    transaction open) before the order's transaction; that one converts the hold into the
    order's allocation without reading the stock rows again.
    """
    draft = _draft_checkout(channel=channel, data=data, actor=actor)
    with _Prepared(draft) as prepared:
        if draft.provider is not None:
            prepared.hold = _stock_hold(draft)
            _session_open(prepared)
            _hold_allocate(prepared)
        with transaction.atomic():
            commit_with.begin()
            placed = _order_write(
                draft,
                prepared.session,
                commit_with,
                allocation_of=prepared.hold if prepared.allocated > 0 else None,
            )
            _stock_allocate(draft, placed, hold=prepared.hold, allocated=prepared.allocated)
        prepared.placed = placed
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
    Owns its transactions, with `commit_with` as in `checkout_direct`. `cart` is the
    caller's fresh read (with its channel, shipping method and voucher; read again
    otherwise): the order's transaction refuses one that changed since (ValidationFailed).
    """
    if not {"channel", "shipping_method", "voucher"} <= cart._state.fields_cache.keys():
        cart = Cart.objects.select_related("channel", "shipping_method", "voucher").get(pk=cart.pk)
    if cart.status == Cart.Status.COMPLETED:
        with transaction.atomic():
            commit_with.begin()
            return _completed(cart, commit_with)
    # Read without the cart's lock: the PSP may be asked before the order's transaction,
    # which then refuses a cart that changed meanwhile.
    draft = _draft_cart(cart=cart, payment=payment, actor=actor)
    with _Prepared(draft) as prepared:
        if draft.provider is not None:
            _cart_hold_extend(draft)
            _session_open(prepared)
        with transaction.atomic():
            commit_with.begin()
            if not _cart_mark_completed(cart):
                # Completed meanwhile (that order is the answer; our session is given back),
                # or changed since it was read (its order would not be what was last seen).
                current = Cart.objects.get(pk=cart.pk)
                if current.status == Cart.Status.COMPLETED:
                    return _completed(current, commit_with)
                raise ValidationFailed(
                    {"lines": ["The cart changed meanwhile: complete it again."]}
                )
            placed = _order_write(draft, prepared.session, _CartDone(commit_with))
            _stock_allocate(draft, placed)
        prepared.placed = placed
    return placed, True


def _cart_mark_completed(cart: Cart) -> bool:
    """Lock the cart and mark it completed, unless it was completed or changed since it was
    read: one conditional UPDATE, first in the order's transaction (the cart's place in the
    lock order). Returns whether it did."""
    now = timezone.now()
    done = (
        Cart.objects.filter(pk=cart.pk, updated_at=cart.updated_at)
        .exclude(status=Cart.Status.COMPLETED)
        .update(status=Cart.Status.COMPLETED, reserved_until=None, updated_at=now)
    )
    if done:
        cart.status, cart.reserved_until, cart.updated_at = Cart.Status.COMPLETED, None, now
    return bool(done)


def _completed(cart: Cart, commit_with: CommitPartner) -> tuple[PlacedOrder, bool]:
    """A completed cart's order (`created` False), its answer stored by `commit_with`."""
    order = Order.objects.select_related("channel").get(cart=cart)
    done = PlacedOrder(order, list(order.lines.all()), list(order.events.all())), False
    _statement_run(commit_with.finish(done))
    return done


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
        delivery=delivery,
        **rest,
    )


# --- 2. The stock held, 3. the PSP asked ------------------------------------------------
def _stock_hold(draft: OrderDraft) -> str:
    """Hold a one-shot checkout's units while the PSP answers: a reservation of its own,
    committed before the call (InsufficientStock before anything is asked).

    Under the stock lock runs one statement and nothing else (PostgreSQL): it locks the
    lines' stock rows in id order, deletes their expired holds, raises `reserved_units`
    where `on_hand - allocated - reserved_units` still covers each line (all lines or
    none) and inserts the reservations, then commits by itself
    (`inventory.services.holds._hold_in_one_statement`). The rows are held for that one
    statement: no round trip, no Python, no other table's write. A line that no single
    warehouse covers takes the locked path (lock, holds read, insert, commit).
    """
    holder = f"checkout:{uuid.uuid4().hex}"
    stock_reserve(
        channel=draft.channel,
        holder=holder,
        lines=draft.stock_lines,
        ttl_seconds=_payment_hold_seconds(draft.channel),
        fresh=True,
        warehouse_id=_warehouse_of(draft),
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
        stock_reserve(
            channel=channel,
            holder=holder,
            lines=draft.stock_lines,
            ttl_seconds=seconds,
            warehouse_id=_warehouse_of(draft),
        )


def _warehouse_of(draft: OrderDraft) -> int | None:
    """An on-demand delivery leaves from its zone's store: only that store's stock counts."""
    return draft.delivery.warehouse_id if draft.delivery else None


def _payment_hold_seconds(channel: Channel) -> int:
    """How long the stock is held while the PSP answers: its calls' limit, with room."""
    return max(channel.reservation_ttl_seconds, 300)


def _session_open(prepared: _Prepared) -> None:
    """Step 3: the PSP's answer, with no transaction open (a refusal gives the hold back
    when `prepared` is left)."""
    draft = prepared.draft
    prepared.session = session_open(
        provider=draft.provider,
        capture=draft.capture,
        amount=draft.totals.total,
        currency=draft.totals.currency,
        data=draft.payment,
        metadata={"channel": draft.channel.code, "source": draft.source},
    )


def _hold_allocate(prepared: _Prepared) -> None:
    """Step 3b: paid or authorized, the hold becomes an allocation under the hold's own
    name in one autocommitted statement, before the order's transaction
    (`inventory.services.holds.stock_allocate_hold`): under the stock lock runs that one
    statement and its own commit, no round trip. An order that will wait in
    `pending_payment` keeps its hold instead (the order's transaction converts it)."""
    if prepared.session is None or prepared.session.state.status not in (SUCCEEDED, AUTHORIZED):
        return
    draft = prepared.draft
    prepared.allocated = -1  # whatever happens next, `_prepared_abandon` looks for it
    prepared.allocated = stock_allocate_hold(
        channel=draft.channel,
        hold=prepared.hold,
        lines=draft.stock_lines,
        warehouse_id=_warehouse_of(draft),
    )


def _prepared_abandon(prepared: _Prepared) -> None:
    """A prepared checkout was not placed: its hold (or the allocation made of it) and its
    session go back (no lock held)."""
    if prepared.hold and prepared.allocated:
        stock_deallocate(holder=prepared.hold)
    if prepared.hold:
        stock_release(holder=prepared.hold)
    if prepared.session is not None:
        totals = prepared.draft.totals
        session_abandon(prepared.session, amount=totals.total, currency=totals.currency)


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
    draft: OrderDraft,
    session: OpenedSession | None,
    commit_with: CommitPartner,
    *,
    allocation_of: str | None = None,
) -> PlacedOrder:
    """3. The voucher use, the order and everything that belongs to it, its domain events,
    and `commit_with`'s answer (rendered from them, stored in the same statement).

    Call inside the order's transaction: the voucher, the link and a delivery's slot are
    counted with conditional updates that hold their rows until the commit (the slot's
    last, in the statement that writes the order's rows: `delivery.locks.slot_booking`).

    `allocation_of`: the checkout's allocation (`_hold_allocate`), whose rows become the
    order's in the statement that writes its lines (its `counted` part, without a
    delivery; then a statement of its own in `_stock_allocate`): no stock row is touched.
    """
    if draft.voucher is not None:
        voucher_use_count(draft.voucher)
    order = _order_new(draft, session)
    rows_insert([order])  # the INSERT that `save()` sends, without building it in the ORM
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
    if session is not None:
        payment, entries = _payment_new(draft, order, session)
        payments.append(payment)
        timeline += entries
    # What the response shows (the delivery, the payment session): no query to find out.
    order.delivery_placed, order.payment_placed = None, payments[0] if payments else None
    delivery_events, record = [], None
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
    # An order waiting for its payment is announced to the customer once paid (settlement).
    announced = order.status != Order.Status.PENDING_PAYMENT and (
        order.email or order.status == Order.Status.CONFIRMED
    )
    outbox = order_domain_events_build(  # announced: its worker nudges the outbox dispatcher
        order=order, types=domain_events, lines=lines, first_sequence=1, nudge=not announced
    )
    placed = PlacedOrder(order=order, lines=lines, events=events)
    relabel = None
    if allocation_of is not None and record is None:
        relabel = allocation_relabel_sql(hold=allocation_of, holder=order.holder)
    # Everything that hangs off the new order (a delivery's row and slot booking too), and
    # the stored HTTP answer (which shows only what is in memory already), in one statement
    # on PostgreSQL.
    booked = rows_insert(
        lines, payments, events, outbox, record.rows if record else [],
        also=lambda: commit_with.finish(placed),
        counted=record.booking if record else relabel,
    )  # fmt: skip
    if relabel is not None:
        placed = PlacedOrder(order=order, lines=lines, events=events, relabelled=booked)
    if record is not None and record.booked is not None:
        record.booked(booked)  # a slot full or gone: refused, all of it rolls back
    if announced:
        # One message for all three (the outbox dispatcher's nudge, the "placed" email,
        # and planning a confirmed order): the worker nudges, then queues the email as its
        # own task, so a failing email never re-plans.
        enqueue_after_commit(task_names.ORDER_PLACED, order.pk)
    return placed


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


def _payment_new(
    draft: OrderDraft, order: Order, session: OpenedSession
) -> tuple[Payment, list[str]]:
    """The order's payment from its session (not saved), and the timeline entries it makes."""
    state, total = session.state, draft.totals.total
    status = {
        SUCCEEDED: Payment.Status.CAPTURED,
        AUTHORIZED: Payment.Status.AUTHORIZED,
    }.get(state.status, Payment.Status.PENDING)
    payment = Payment(
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
        return payment, [OrderEvent.Type.PAYMENT_PENDING]
    paid = OrderEvent.Type.PAID if status == Payment.Status.CAPTURED else None
    return payment, [paid or OrderEvent.Type.PAYMENT_AUTHORIZED, OrderEvent.Type.CONFIRMED]


# --- 4. The stock -----------------------------------------------------------------------
def _stock_allocate(
    draft: OrderDraft, placed: PlacedOrder, *, hold: str | None = None, allocated: int = 0
) -> None:
    """5. The stock rows, last: the cart's holds (or the checkout's `hold`) become the
    order's, or it takes what is free.

    Raises InsufficientStock, which rolls the whole order back.

    A paid or authorized one-shot checkout's stock is allocated already (`allocated`
    rows under `hold`, step 3b, committed by itself): one UPDATE gives those rows to the
    order and no stock row is locked in the order's transaction at all. Rows the sweep
    gave back meanwhile (a checkout that took far longer than the sweep's age) are
    taken again by the full path below.

    A one-shot checkout's own `hold` (taken in step 2) becomes the allocation in one
    statement (`stock_allocate_held`): the hold's rows deleted, the levels locked in id
    order, their `reserved_units` lowered and `allocated` raised by the held units where
    still on hand, the allocations inserted; then the commit. Under the stock lock run
    these two statements only: the row locks are taken by the first and held to the
    commit, which the allocation shares with the order and its stored answer (both
    written before the lock).
    Otherwise:

    What runs under the stock lock, from the locking statement to the commit, and why each:
    - `SELECT ... FOR UPDATE` of the lines' stock rows in the channel, by ascending id:
      takes the lock (`inventory.locks`);
    - the active holds of those rows, in a statement of its own: its fresh snapshot sees
      the holds committed by whoever held the lock before (`inventory.available`);
    - a completed cart's own holds deleted with their units off `reserved_units` (cart
      only, one statement): they become the allocations;
    - `allocated` raised and the allocations inserted: the promise itself;
    - a low-stock event only when a row crosses its threshold (`low_stock_record`);
    - the commit. Nothing else: the order, its lines, payment, timeline, events and the
      stored HTTP answer are written before the lock is taken (`commit_with.finish`),
      and the answer is sent after the commit.
    """
    order = placed.order
    if allocated > 0:  # allocated already: the rows are relabelled, no stock row touched
        relabelled = placed.relabelled
        if relabelled is None:  # not done with the order's rows (a delivery's booking was)
            relabelled = stock_allocation_relabel(hold=hold, holder=order.holder)
        if relabelled == allocated:
            return
        hold = None  # swept meanwhile (all of a holder or none): the full path below
    if hold is not None:  # a one-shot checkout's own hold: its units are already counted out
        stock_allocate_held(
            channel=draft.channel,
            holder=order.holder,
            hold=hold,
            lines=draft.stock_lines,
            warehouse_id=_warehouse_of(draft),
        )
        return
    stock_allocate(
        channel=draft.channel,
        holder=order.holder,
        lines=draft.stock_lines,
        reservation_holder=draft.cart.holder if draft.cart else None,
        # A delivery leaves from its zone's store: the stock must be there.
        warehouse_id=_warehouse_of(draft),
    )
