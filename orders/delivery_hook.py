"""The seam where on-demand delivery joins checkout, without orders importing it.

A shipping method of kind `local_delivery` is fulfilled by a delivery app (the
`delivery` app registers itself here when Django starts). Checkout asks it two
things, in this order, and nothing for any other shipping method:

1. `quote` (before the transaction): which zone serves the address, the fee, the
   warehouse the stock comes from, the promised arrival window; it raises a
   DomainError (`outside_delivery_area`, `below_delivery_minimum`, `delivery_closed`,
   `delivery_slot_full`, ...) when the delivery cannot be made.
2. `record` (right after the order row is written): the delivery row, the promise on
   the timeline, and the scheduled slot's booking, all unwritten: checkout writes them
   in the statement that writes the order's own rows (`backoffice.sql.rows_insert`,
   after the voucher and the link, before the stock: docs/architecture.md "Lock
   order"), then hands `booked` what the booking returned (it raises
   `delivery_slot_full`, or `delivery_slot_unavailable` for a slot deleted meanwhile).

And the order lifecycle tells it `order_cancelling` inside `order_cancel` (and when an
order waiting for its payment expires), with the order row locked, and
`order_cancelled` late in the same cancel (after the voucher, before the stock: the
slot's unit back); and `order_paid` when such an order is paid: a delivery recorded
for a `pending_payment` order is not dispatched until then.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Protocol

from catalog.models import Channel


@dataclass(frozen=True)
class DeliveryQuote:
    """What checkout needs from a delivery quote; `details` is the planner's own."""

    fee: Decimal
    warehouse_id: int
    details: Any = None


@dataclass(frozen=True)
class DeliveryRecord:
    """The delivery written with the order, the timeline rows it adds and the other rows
    to insert, of one model (unsaved: the checkout writes them in the same insert as the
    order's own),
    and a writing statement with `RETURNING` to run in it (a slot's booking), whose
    returned row count goes to `booked` once it ran (which may raise a DomainError)."""

    delivery: Any
    events: list
    rows: list = field(default_factory=list)
    booking: tuple[str, list] | None = None
    booked: Callable[[int], None] | None = None


class DeliveryPlanner(Protocol):
    def quote(
        self,
        *,
        channel: Channel,
        address: dict | None,
        subtotal: Decimal,
        slot: str | None = None,
        cart: Any = None,
    ) -> DeliveryQuote: ...

    def record(self, *, order: Any, quote: DeliveryQuote, actor: str) -> DeliveryRecord: ...

    def order_cancelling(self, *, order: Any, actor: str) -> None: ...

    def order_cancelled(self, *, order: Any) -> None: ...

    def order_paid(self, *, order: Any) -> None: ...


_planner: DeliveryPlanner | None = None


def planner_register(planner: DeliveryPlanner) -> None:
    """Called once by the delivery app's AppConfig.ready()."""
    global _planner
    _planner = planner


def delivery_planner() -> DeliveryPlanner:
    if _planner is None:
        raise RuntimeError("A local_delivery shipping method needs the delivery app installed.")
    return _planner


def delivery_planner_installed() -> DeliveryPlanner | None:
    return _planner
