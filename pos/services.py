"""Point-of-sale workflows: a sale at a store's till, and offline sales uploaded in bulk.

A sale is a one-shot checkout in the POS channel, paid with `manual` (cash or card
terminal), picked up at the store and fulfilled and completed at once from the store's
own stock (`fulfillment.services.order_fulfill_at_once`), all in one transaction.

Each till sale carries the till's `client_id`; a `PosSale` row keyed by (channel,
client_id) makes it happen once however often it is sent, live or in an upload, even
both at once: the row is claimed before any stock is locked (`pos.locks`). In a bulk
upload each sale runs in its own savepoint: a sale that can no longer be made (sold
out meanwhile, an unknown SKU) is recorded as `flagged` with the reason, for staff,
and the others go on.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from backoffice.exceptions import DomainError, ValidationFailed
from catalog.models import Channel, ProductVariant
from fulfillment.services import order_fulfill_at_once
from inventory.codes import code_is
from inventory.locks import stock_levels_lock_in_channel
from inventory.models import Warehouse
from orders.models import Order, ShippingMethod
from orders.selectors import order_detail_queryset
from orders.services import CheckoutInput, checkout_direct
from orders.services.validation import LineRequest
from pos.errors import PosSaleNotRecorded
from pos.locks import pos_sale_claim, pos_sale_lock
from pos.models import PosSale

PAYMENT_METHODS = ("cash", "card_terminal")
# A till's clock may run a little ahead of ours.
CLOCK_SKEW = timedelta(minutes=5)


@dataclass
class PosSaleInput:
    lines: list[LineRequest]
    payment: dict[str, Any]
    store: str | None = None
    client_id: str = ""
    email: str = ""
    sold_at: datetime | None = None
    raw: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class PosSaleResult:
    sale: PosSale | None
    order: Order | None
    store: Warehouse | None
    replayed: bool = False


def pos_store_find(*, channel: Channel, code: str | None) -> Warehouse:
    """The store the sale happens at: `code`, or the channel's first store when omitted.

    Raises ValidationFailed (field `store`) unless it is an active store serving the channel.
    """
    stores = Warehouse.objects.filter(
        kind=Warehouse.Kind.STORE, active=True, warehousechannel__channel=channel
    ).order_by("warehousechannel__priority", "id")
    store = stores.filter(code_is(code)).first() if code else stores.first()
    if store is None:
        raise ValidationFailed({"store": ["No such store selling in this channel."]})
    return store


def _payment_clean(payment: dict[str, Any]) -> dict[str, Any]:
    if not isinstance(payment, dict) or payment.get("provider") != "manual":
        raise ValidationFailed({"payment.provider": ['A till sale is paid with "manual".']})
    if payment.get("method", "cash") not in PAYMENT_METHODS:
        raise ValidationFailed({"payment.method": [f"Use one of {', '.join(PAYMENT_METHODS)}."]})
    return {"provider": "manual", "method": payment.get("method", "cash"), **_reference(payment)}


def _reference(payment: dict[str, Any]) -> dict[str, str]:
    return {"reference": str(payment["reference"])[:200]} if payment.get("reference") else {}


def pos_sale_place(*, channel: Channel, data: PosSaleInput, actor: str = "") -> PosSaleResult:
    """Ring up one sale: checkout, pickup at the store, fulfilled and completed at once.

    All or nothing. Raises ValidationFailed, InsufficientStock (the channel's stock) and
    whatever fulfilling from the store raises (e.g. units not held in that store).
    """
    if data.sold_at is not None and data.sold_at > timezone.now() + CLOCK_SKEW:
        raise ValidationFailed({"sold_at": ["Must not be in the future."]})
    payment = _payment_clean(data.payment)
    store = pos_store_find(channel=channel, code=data.store)
    pickup = (
        ShippingMethod.objects.filter(
            channel=channel, kind=ShippingMethod.Kind.PICKUP, pickup_warehouse=store, active=True
        )
        .values_list("code", flat=True)
        .first()
    )
    with transaction.atomic():
        order = checkout_direct(
            channel=channel,
            data=CheckoutInput(
                lines=data.lines, email=data.email, shipping_method=pickup, payment=payment
            ),
            actor=actor,
        ).order
        order_fulfill_at_once(order=order, warehouse=store, actor=actor)
    order = order_detail_queryset().get(pk=order.pk)
    return PosSaleResult(sale=None, order=order, store=store)


def _replay(sale: PosSale) -> PosSaleResult:
    order = order_detail_queryset().filter(pk=sale.order_id).first() if sale.order_id else None
    return PosSaleResult(sale=sale, order=order, store=sale.store, replayed=True)


def _existing(channel: Channel, client_id: str) -> PosSale | None:
    return (
        PosSale.objects.select_related("store").filter(channel=channel, client_id=client_id).first()
    )


def _claim(channel: Channel, data: PosSaleInput) -> tuple[PosSale, bool]:
    """Claim the sale's row, as `flagged` until it is rung up in the same transaction."""
    return pos_sale_claim(
        channel=channel,
        client_id=data.client_id,
        defaults={
            "status": PosSale.Status.FLAGGED,
            "reason": "Being processed.",
            "payload": data.raw,
            "sold_at": data.sold_at,
        },
    )


def _recorded(sale: PosSale, placed: PosSaleResult) -> PosSaleResult:
    sale.status = PosSale.Status.RECORDED
    sale.reason = ""
    sale.order = placed.order
    sale.store = placed.store
    sale.save(update_fields=["status", "reason", "order", "store"])
    return PosSaleResult(sale=sale, order=placed.order, store=placed.store)


def pos_sale_record(*, channel: Channel, data: PosSaleInput, actor: str = "") -> PosSaleResult:
    """A live till sale. With a `client_id` it happens once: a repeat returns the first sale.

    Errors are raised to the till (nothing is recorded), so it can fix and resend. A
    `client_id` that an offline upload recorded without an order (flagged, or resolved
    by staff) raises PosSaleNotRecorded. The sale's row is claimed before any stock is
    locked, as in a bulk upload, so the two may carry the same sale at the same moment:
    the second waits for the first and replays it (docs/architecture.md, "Lock order").
    """
    if not data.client_id:
        return pos_sale_place(channel=channel, data=data, actor=actor)
    sale = _existing(channel, data.client_id)
    if sale is None:
        with transaction.atomic():
            sale, created = _claim(channel, data)
            if created:
                return _recorded(sale, pos_sale_place(channel=channel, data=data, actor=actor))
    if sale.order_id is None:
        raise PosSaleNotRecorded(
            f"Sale {sale.client_id} was uploaded before and is {sale.status}: {sale.reason}",
            client_id=sale.client_id,
            sale_status=sale.status,
            reason=sale.reason,
        )
    return _replay(sale)


def pos_sales_bulk_record(
    *, channel: Channel, sales: list[PosSaleInput], actor: str = ""
) -> list[PosSaleResult]:
    """Offline sales uploaded later, each exactly once by `client_id`, each in its own savepoint.

    A sale that cannot be made is recorded as `flagged` with the reason (never dropped);
    a `client_id` seen before returns its first outcome (`replayed`).

    One transaction, locking in the system's order (docs/architecture.md, "Lock order"):
    first every new `client_id` is claimed (in `client_id` order), then the stock rows
    of every SKU in the upload are locked at once (in id order), and only then are the
    sales rung up one by one. Ringing them up one by one with their locks piling up in
    the upload's order could deadlock with a live sale or a checkout of the same SKUs.
    """
    with transaction.atomic():
        claims: dict[str, tuple[PosSale, bool]] = {}
        first_of_each = {data.client_id: data for data in reversed(sales)}
        for client_id in sorted(first_of_each):
            claims[client_id] = _claim(channel, first_of_each[client_id])
        skus = {line.sku for data in sales if claims[data.client_id][1] for line in data.lines}
        stock_levels_lock_in_channel(
            channel=channel,
            variant_ids=ProductVariant.objects.filter(sku__in=skus).values_list("pk", flat=True),
        )
        results = []
        rung_up: set[str] = set()
        for data in sales:
            sale, created = claims[data.client_id]
            if not created or data.client_id in rung_up:
                results.append(_replay(sale))
                continue
            rung_up.add(data.client_id)
            results.append(_bulk_sale_place(channel, sale, data, actor))
    return results


def _bulk_sale_place(
    channel: Channel, sale: PosSale, data: PosSaleInput, actor: str
) -> PosSaleResult:
    try:
        with transaction.atomic():
            placed = pos_sale_place(channel=channel, data=data, actor=actor)
    except DomainError as error:
        sale.reason = _reason(error)
        sale.save(update_fields=["reason"])
        return PosSaleResult(sale=sale, order=None, store=None)
    return _recorded(sale, placed)


def _reason(error: DomainError) -> str:
    details = ""
    if error.extra.get("lines"):
        details = " " + "; ".join(
            f"{line['sku']}: {line['requested']} sold, {line['available']} available"
            for line in error.extra["lines"]
        )
    elif error.extra.get("errors"):
        details = " " + "; ".join(
            f"{name}: {' '.join(messages)}" for name, messages in error.extra["errors"].items()
        )
    return f"{error.code}: {error.detail}{details}"[:500]


def pos_sale_resolve(*, sale: PosSale, actor: str) -> PosSale:
    """Staff dealt with a flagged sale (refunded the customer, entered it by hand...)."""
    with transaction.atomic():
        sale = pos_sale_lock(sale)
        if sale.status != PosSale.Status.FLAGGED:
            return sale
        sale.status = PosSale.Status.RESOLVED
        sale.resolved_at = timezone.now()
        sale.resolved_by = actor
        sale.save(update_fields=["status", "resolved_at", "resolved_by"])
    return sale
