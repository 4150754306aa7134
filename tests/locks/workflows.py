"""The workflows of the lock-order test: what each locks, what it needs, how it runs.

Each workflow says which kinds of rows it locks (as the table in docs/architecture.md,
"Lock order", does), and makes before the race whatever one of its threads acts on.
Workflows acting on an order share the round's orders, so that they meet on the same
order rows, not only on the shared stock, voucher and link rows.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from functools import cached_property

from django.db import transaction
from django.db.models import F, Sum
from django.utils import timezone

from backoffice.outbox.deliveries import deliveries_queue_due, delivery_attempt
from backoffice.outbox.models import OutboxEvent, WebhookDelivery, WebhookEndpoint
from backoffice.outbox.services import event_fan_out, event_record
from backoffice.outbox.webhook_services import (
    webhook_endpoint_create,
    webhook_endpoint_delete,
    webhook_endpoint_update,
)
from backoffice.retention import outbox_events_purge, run_deadline, webhook_deliveries_purge
from catalog.models import Channel, ProductVariant
from delivery.couriers import courier_availability_set, courier_create
from delivery.dispatch import delivery_assign, delivery_dispatch, offer_accept
from delivery.models import Delivery, DeliverySlot
from delivery.setup import slots_create, zone_create
from delivery.tracking import delivery_complete, delivery_pickup, location_post
from fulfillment.models import Fulfillment
from fulfillment.returns import return_create
from fulfillment.services import (
    fulfillment_cancel,
    fulfillment_create,
    fulfillment_deliver,
    fulfillment_ship,
    order_cancel_with_shipments,
)
from inventory.models import Allocation, Reservation, Warehouse
from inventory.selectors import stock_check
from inventory.services import (
    StockChange,
    StockLine,
    reservations_purge_expired,
    stock_adjust,
    stock_changes_apply,
    stock_reserve,
    stock_transfer,
)
from orders.links.services import LinkLineInput, link_cart_create, link_create, link_deactivate
from orders.models import Cart, Order, OrderLine, Payment, ShopLink, Voucher
from orders.payments.base import CANCELED, SUCCEEDED, SessionState
from orders.payments.settlement import payment_session_settle
from orders.services import (
    CheckoutInput,
    cart_complete,
    cart_create,
    cart_line_add,
    cart_update,
    checkout_direct,
    order_cancel,
    order_capture,
    order_refund,
    orders_cancel_stale_unpaid,
)
from orders.services.setup import shipping_method_create, voucher_create
from orders.services.validation import LineRequest
from pos.services import PosSaleInput, pos_sale_record, pos_sales_bulk_record
from tests.factories import make_channel, make_product, make_warehouse, receive

THREADS = 2  # per workflow of the pair, unless it says otherwise
UNITS = 100_000
ADDRESS = {"name": "Ada", "line1": "1 Main St", "city": "Town", "postal_code": "1", "country": "US"}
APPROVE = {"provider": "test", "token": "tok_approve"}
CASH = {"provider": "manual", "method": "cash"}
VOUCHER = "LOCKS10"


@dataclass
class World:
    web: Channel
    pos: Channel
    main: Warehouse
    soho: Warehouse
    a: ProductVariant
    b: ProductVariant
    endpoint: WebhookEndpoint


def world_build() -> World:
    web = make_channel("lk-web", kind=Channel.Kind.WEB, unpaid_order_timeout_minutes=60)
    pos = make_channel("lk-pos", kind=Channel.Kind.POS)
    main = make_warehouse("lk-main", channels=[web])
    # A store that also ships web orders: tills and web checkouts meet on its stock rows.
    soho = make_warehouse("lk-soho", channels=[pos, web], kind=Warehouse.Kind.STORE)
    a = make_product(skus={"LK-A": "10.00"}, channels=[web, pos]).variants.get()
    b = make_product(skus={"LK-B": "20.00"}, channels=[web, pos]).variants.get()
    for warehouse in (main, soho):
        for variant in (a, b):
            receive(variant, warehouse, UNITS)
    shipping_method_create(channel=web, code="standard", name="Standard", price="4.99")
    shipping_method_create(
        channel=pos, code="soho", name="Soho", kind="pickup", pickup_warehouse="lk-soho"
    )
    voucher_create(code=VOUCHER, kind="percentage", value="10")
    # On-demand delivery from lk-main to postal code 1 (the ADDRESS), with a slot.
    shipping_method_create(channel=web, code="now", name="Now", kind="local_delivery")
    zone = zone_create(
        code="lk-zone",
        warehouse=main,
        fields={"kind": "postal_codes", "postal_codes": ["1"], "country": "US", "currency": "USD"},
    )
    starts = timezone.now() + timedelta(days=1)
    slots_create(
        zone=zone, starts_at=starts, ends_at=starts + timedelta(hours=1), slot_minutes=60,
        capacity=UNITS,
    )  # fmt: skip
    endpoint = webhook_endpoint_create(
        url="http://127.0.0.1:9/hooks", event_types=["order.cancelled"]
    )
    return World(web=web, pos=pos, main=main, soho=soho, a=a, b=b, endpoint=endpoint)


def _checkout(world: World, *, paid: bool = True, method: str = "standard", **extra) -> Order:
    placed = checkout_direct(
        channel=world.web,
        data=CheckoutInput(
            lines=[LineRequest("LK-A", 2), LineRequest("LK-B", 2)],
            email="ada@example.com",
            shipping_address=ADDRESS,
            shipping_method=method,
            voucher_code=VOUCHER,
            payment=APPROVE if paid else None,
            **extra,
        ),
    )
    return placed.order


def _slot() -> str:
    return str(DeliverySlot.objects.get(zone__code="lk-zone").pk)


class Round:
    """What one round's workflows act on, made before the race (only what the pair needs)."""

    counter = itertools.count(1)

    def __init__(self, world: World) -> None:
        self.world = world
        self.number = next(self.counter)

    @cached_property
    def link(self) -> ShopLink:
        return link_create(
            channel=self.world.web,
            lines=[LinkLineInput("LK-A", 1, 20), LinkLineInput("LK-B", 1, 20)],
            allotment_until=timezone.now() + timedelta(hours=1),
        )

    @cached_property
    def paid_order(self) -> Order:
        return _checkout(self.world)

    @cached_property
    def unpaid_order(self) -> Order:
        return _checkout(self.world, paid=False)

    @cached_property
    def pending_payment_order(self) -> Order:
        """An order waiting for its card payment, as a Stripe checkout leaves it."""
        order = _checkout(self.world)
        Order.objects.filter(pk=order.pk).update(
            status=Order.Status.PENDING_PAYMENT,
            payment_status=Order.PaymentStatus.UNPAID,
            payment_due_at=timezone.now(),
        )
        Payment.objects.filter(order=order).update(status=Payment.Status.PENDING, captured_amount=0)
        return order

    @cached_property
    def stale_order(self) -> Order:
        order = _checkout(self.world, paid=False)
        Order.objects.filter(pk=order.pk).update(created_at=timezone.now() - timedelta(hours=2))
        return order

    @cached_property
    def planned(self) -> Fulfillment:
        return fulfillment_create(order=_checkout(self.world), warehouse=self.world.main)[0]

    @cached_property
    def shipped_order(self) -> Order:
        order = _checkout(self.world)
        fulfillment_ship(
            fulfillment=fulfillment_create(order=order)[0], carrier="DHL", tracking_number="T1"
        )
        return order

    def client_id(self, index: int, suffix: str = "") -> str:
        return f"lk-{self.number}-{index}{suffix}"


Run = Callable[[], object]


@dataclass(frozen=True)
class Workflow:
    name: str
    locks: frozenset[str]
    prepare: Callable[[Round, int], Run]  # sequentially, before the race; returns the run
    threads: int = THREADS


def _checkout_through_link(round_: Round, index: int) -> Run:
    attribution = {"link": round_.link.code}
    return lambda: _checkout(round_.world, attribution=attribution)


def _cart_complete(round_: Round, index: int) -> Run:
    if index % 2:
        cart = cart_create(
            channel=round_.world.web,
            lines=[LineRequest("LK-A", 1), LineRequest("LK-B", 1)],
            email="ada@example.com",
        )
        # Holds that lapsed: re-taken at completion, and purged meanwhile.
        Reservation.objects.filter(holder=cart.holder).update(
            expires_at=timezone.now() - timedelta(minutes=1)
        )
    else:
        cart = link_cart_create(link=round_.link)  # counted on the link when it completes
    cart = cart_update(
        cart=cart, shipping_address=ADDRESS, shipping_method="standard", voucher_code=VOUCHER
    )
    return lambda: cart_complete(cart=cart, payment=APPROVE)


def _cart_lines(round_: Round, index: int) -> Run:
    cart = cart_create(channel=round_.world.web, lines=[LineRequest("LK-B", 1)])
    sku = "LK-A" if index % 2 else "LK-B"
    return lambda: cart_line_add(cart=cart, sku=sku, quantity=1)


def _order_cancel(round_: Round, index: int) -> Run:
    if index % 2:
        round_.stale_order  # noqa: B018 - made before the race; the sweep finds it
        return orders_cancel_stale_unpaid
    order = round_.paid_order
    return lambda: order_cancel(order=order, actor="staff")


def _order_payments(round_: Round, index: int) -> Run:
    if index % 2:
        order = round_.paid_order
        return lambda: order_refund(order=order, amount="1.00")
    order = round_.unpaid_order
    return lambda: order_capture(order=order)


def _payment_settlement(round_: Round, index: int) -> Run:
    """The PSP's word on one session from two doors at once: paid (a webhook, the client's
    confirm) against canceled (reconciliation expiring it)."""
    payment = Payment.objects.get(order=round_.pending_payment_order)
    state = SessionState(status=SUCCEEDED if index % 2 else CANCELED, reference=payment.reference)
    return lambda: payment_session_settle(payment=payment, state=state, source="webhook")


def _fulfillment(round_: Round, index: int) -> Run:
    if index % 2:
        planned = round_.planned
        if round_.number % 2:
            return lambda: fulfillment_cancel(fulfillment=planned)
        return lambda: fulfillment_ship(fulfillment=planned, carrier="DHL", tracking_number="T2")
    order = round_.paid_order

    def plan_ship_deliver():
        shipped = fulfillment_ship(
            fulfillment=fulfillment_create(order=order)[0], carrier="UPS", tracking_number="T3"
        )
        return fulfillment_deliver(fulfillment=shipped)

    return plan_ship_deliver


def _return(round_: Round, index: int) -> Run:
    order = round_.shipped_order
    lines = [LineRequest("LK-B", 1), LineRequest("LK-A", 1)]  # not in the stock rows' order
    return lambda: return_create(order=order, lines=lines, reason="Too small")


def _pos_sale(round_: Round, index: int, lines: list[LineRequest]) -> PosSaleInput:
    return PosSaleInput(lines=lines, payment=CASH, client_id=round_.client_id(index))


def _pos_live(round_: Round, index: int) -> Run:
    sale = _pos_sale(round_, index, [LineRequest("LK-A", 1), LineRequest("LK-B", 1)])
    return lambda: pos_sale_record(channel=round_.world.pos, data=sale)


def _pos_bulk(round_: Round, index: int) -> Run:
    earlier = PosSaleInput(
        lines=[LineRequest("LK-B", 1)], payment=CASH, client_id=round_.client_id(index, "-a")
    )
    sale = _pos_sale(round_, index, [LineRequest("LK-A", 1), LineRequest("LK-B", 1)])
    return lambda: pos_sales_bulk_record(channel=round_.world.pos, sales=[earlier, sale])


def _stock_counts(round_: Round, index: int) -> Run:
    world = round_.world
    if index % 2:
        changes = [
            StockChange(sku="LK-B", warehouse="lk-soho", delta=1),
            StockChange(sku="LK-A", warehouse="lk-main", delta=1),
            StockChange(sku="LK-B", warehouse="lk-main", on_hand=UNITS),
            StockChange(sku="LK-A", warehouse="lk-soho", delta=-1),
        ]

        def sync_in_one_transaction():  # as under an Idempotency-Key
            with transaction.atomic():
                return stock_changes_apply(changes=changes)

        return sync_in_one_transaction
    return lambda: stock_adjust(variant=world.b, warehouse=world.soho, delta=1, reason="receipt")


def _stock_transfer(round_: Round, index: int) -> Run:
    world = round_.world
    source, destination = (world.main, world.soho) if index % 2 else (world.soho, world.main)
    variant = world.a if round_.number % 2 else world.b
    return lambda: stock_transfer(
        variant=variant, source=source, destination=destination, quantity=1
    )


def _order_cancel_with_shipments(round_: Round, index: int) -> Run:
    order = _checkout(round_.world)
    fulfillment_create(order=order)  # planned, not left: cancelled with the order
    return lambda: order_cancel_with_shipments(order=order, actor="staff")


def _reservation_purge(round_: Round, index: int) -> Run:
    world = round_.world
    holder = f"lapsed:{round_.number}:{index}"
    stock_reserve(channel=world.web, holder=holder, lines=[StockLine(world.b, 1)])
    Reservation.objects.filter(holder=holder).update(
        expires_at=timezone.now() - timedelta(minutes=1)
    )
    return reservations_purge_expired


def _link_cart(round_: Round, index: int) -> Run:
    link = round_.link
    return lambda: link_cart_create(link=link)


def _link_deactivate(round_: Round, index: int) -> Run:
    link = round_.link
    return lambda: link_deactivate(link=link, actor="staff")


def _webhooks(round_: Round, index: int) -> Run:
    endpoint = round_.world.endpoint
    if index % 2:
        return lambda: webhook_endpoint_update(endpoint=endpoint, active=True)

    def dispatch_and_deliver():
        event_fan_out(batch_size=50)
        for delivery_id in deliveries_queue_due(limit=5):
            delivery_attempt(delivery_id=delivery_id)

    return dispatch_and_deliver


def _webhook_endpoint_delete(round_: Round, index: int) -> Run:
    """An endpoint deleted while the fan-out may be delivering an event to it."""
    endpoint = webhook_endpoint_create(
        url=f"http://127.0.0.1:9/gone-{round_.number}-{index}", event_types=["order.cancelled"]
    )
    with transaction.atomic():
        event_record(type="order.cancelled", aggregate=f"gone:{round_.number}:{index}", data={})
    return lambda: webhook_endpoint_delete(endpoint=endpoint)


def _delivery_checkout(round_: Round, index: int) -> Run:
    slot = _slot() if index % 2 else None
    return lambda: _checkout(round_.world, method="now", delivery_slot=slot)


def _courier(round_: Round, index: int):
    courier, _ = courier_create(name=f"lk-{round_.number}-{index}", warehouses=[round_.world.main])
    return courier_availability_set(courier=courier, available=True)


def _delivery_trip(round_: Round, index: int) -> Run:
    order = _checkout(round_.world, method="now")
    _courier(round_, index)

    def dispatch_accept_pickup_deliver():
        offer = delivery_dispatch(delivery_id=order.delivery.pk)
        if offer is None:
            return None  # the other thread's courier took the only free one
        delivery = offer_accept(offer=offer)
        delivery_pickup(delivery=delivery, courier=offer.courier, actor="courier")
        return delivery_complete(
            delivery=delivery, courier=offer.courier, actor="courier",
            photo_url="https://photos.example/door.jpg",
        )  # fmt: skip

    return dispatch_accept_pickup_deliver


def _delivery_cancel(round_: Round, index: int) -> Run:
    order = _checkout(round_.world, method="now", delivery_slot=_slot())
    _courier(round_, index)
    delivery_dispatch(delivery_id=order.delivery.pk)  # an open offer, withdrawn by the cancel
    return lambda: order_cancel(order=order, actor="staff")


def _courier_positions(round_: Round, index: int) -> Run:
    order = _checkout(round_.world, method="now")
    courier = _courier(round_, index)
    delivery = delivery_assign(delivery=order.delivery, courier=courier, actor="staff")

    def post_positions():
        for step in range(3):
            location_post(delivery=delivery, courier=courier, latitude=1 + step, longitude=1)

    return post_positions


def _retention_purge(round_: Round, index: int) -> Run:
    """Beat's purge, in batches of two, of three events long done with (and their deliveries)."""
    long_ago = timezone.now() - timedelta(days=400)
    for number in range(3):
        with transaction.atomic():
            event = event_record(
                type="order.cancelled",
                aggregate=f"retention:{round_.number}:{index}:{number}",
                data={},
            )
        OutboxEvent.objects.filter(pk=event.pk).update(created_at=long_ago, dispatched_at=long_ago)
        delivery = WebhookDelivery.objects.create(
            endpoint=round_.world.endpoint, event=event, status=WebhookDelivery.Status.SUCCEEDED
        )
        WebhookDelivery.objects.filter(pk=delivery.pk).update(updated_at=long_ago)

    def purge():
        deadline = run_deadline()
        webhook_deliveries_purge(days=30, batch_size=2, deadline=deadline)
        outbox_events_purge(days=90, batch_size=2, deadline=deadline)

    return purge


def _workflow(
    name: str, locks: str, prepare: Callable[[Round, int], Run], threads: int = THREADS
) -> Workflow:
    return Workflow(name=name, locks=frozenset(locks.split()), prepare=prepare, threads=threads)


# The kinds of rows each workflow locks, as in the table of docs/architecture.md.
WORKFLOWS = [
    _workflow(
        "checkout",
        "voucher link stock reservation allocation",
        _checkout_through_link,
    ),
    _workflow("cart_complete", "cart voucher link stock reservation allocation", _cart_complete),
    _workflow("cart_lines", "cart stock reservation", _cart_lines),
    _workflow("order_cancel", "order payment voucher stock allocation", _order_cancel),
    _workflow("order_payments", "order payment", _order_payments),
    _workflow("payment_settlement", "order payment voucher stock allocation", _payment_settlement),
    _workflow("fulfillment", "order fulfillment order_line stock allocation", _fulfillment),
    _workflow("return", "order order_line payment stock", _return),
    # A till sale is some 90 statements: one thread a side keeps the module quick.
    _workflow("pos_live", "pos_sale stock allocation", _pos_live, threads=1),
    _workflow("pos_bulk", "pos_sale stock allocation", _pos_bulk, threads=1),
    _workflow("stock_counts", "stock", _stock_counts),
    _workflow("stock_transfer", "stock", _stock_transfer),
    _workflow(
        "order_cancel_with_shipments",
        "order fulfillment payment voucher stock allocation",
        _order_cancel_with_shipments,
    ),
    _workflow("reservation_purge", "reservation", _reservation_purge),
    _workflow("link_cart", "link stock reservation", _link_cart),
    _workflow("link_deactivate", "link reservation", _link_deactivate),
    _workflow("webhooks", "outbox_event delivery endpoint", _webhooks),
    _workflow("webhook_endpoint_delete", "endpoint delivery", _webhook_endpoint_delete),
    _workflow("delivery_checkout", "slot voucher stock allocation", _delivery_checkout),
    _workflow(
        "delivery_trip",
        "order order_delivery courier offer fulfillment order_line stock allocation",
        _delivery_trip,
    ),
    _workflow(
        "delivery_cancel",
        "order order_delivery courier offer slot payment voucher stock allocation",
        _delivery_cancel,
    ),
    _workflow("courier_positions", "order_delivery", _courier_positions),
    _workflow("retention_purge", "outbox_event delivery", _retention_purge),
]
PAIRS = [
    (first, second)
    for first, second in itertools.combinations_with_replacement(WORKFLOWS, 2)
    if first.locks & second.locks
]


def books_agree(world: World) -> None:
    """Stock, allocations, holds and counters say the same thing as the orders and carts."""
    assert stock_check() == []
    open_units = dict(
        OrderLine.objects.exclude(order__status=Order.Status.CANCELLED)
        .values_list("order_id")
        .annotate(units=Sum(F("quantity") - F("quantity_fulfilled")))
        .filter(units__gt=0)
    )
    allocated = {
        int(holder.split(":")[1]): units
        for holder, units in Allocation.objects.values_list("holder")
        .annotate(units=Sum("quantity"))
        .filter(units__gt=0)
    }
    assert allocated == open_units
    voucher = Voucher.objects.get(code=VOUCHER)
    assert (
        voucher.used_count
        == Order.objects.filter(voucher=voucher).exclude(status=Order.Status.CANCELLED).count()
    )
    for slot in DeliverySlot.objects.all():
        booked = Delivery.objects.filter(slot=slot).exclude(status=Delivery.Status.CANCELLED)
        assert slot.booked == booked.count()
    for link in ShopLink.objects.all():
        assert link.orders_count == Order.objects.filter(attribution__link=link.code).count()
        assert link.carts_count == Cart.objects.filter(attribution__link=link.code).count()
