"""Row locks of orders: the order row, a cart row, an order's payments and lines, voucher uses.

Where each comes in the one lock order of the whole system is written in
docs/architecture.md ("Lock order"): a cart or an order first, then the rows that
belong to that order (fulfillments, lines, payments), then the shared counters
(voucher, then shop link: `orders.links.counters`), then stock (`inventory.locks`).

Order and cart locks take their own row only (`of=("self",)`): a plain FOR UPDATE
over the join would lock the channel row too, which every checkout of the channel
needs (inserting an order or a cart takes a key-share lock on its channel), so one
cancel would hold up the whole channel.
"""

from __future__ import annotations

from django.db.models import F, Q

from orders.errors import VoucherUnavailable
from orders.models import Cart, Order, OrderLine, Payment, ShopLink, Voucher


def order_lock(order: Order) -> Order:
    """Lock the order row (its channel read alongside, not locked); returns it fresh."""
    return Order.objects.select_for_update(of=("self",)).select_related("channel").get(pk=order.pk)


def cart_lock(cart: Cart, *related: str) -> Cart:
    """Lock the cart row (the `related` rows read alongside, not locked); returns it fresh."""
    return Cart.objects.select_for_update(of=("self",)).select_related(*related).get(pk=cart.pk)


def order_payments_lock(order: Order) -> list[Payment]:
    """Lock the order's payments in id order. Call with the order row locked."""
    return list(order.payments.select_for_update().order_by("id"))


def order_lines_lock(order: Order) -> list[OrderLine]:
    """Lock the order's lines in id order. Call with the order row locked."""
    return list(order.lines.select_for_update().order_by("id"))


def voucher_lock(voucher_id: int) -> Voucher:
    """Lock a voucher row for an edit (FOR NO KEY UPDATE: what a use's UPDATE takes, so a
    checkout counting a use waits for the edit, and the edit for it); returns it fresh."""
    return Voucher.objects.select_for_update(no_key=True).get(pk=voucher_id)


def voucher_use_count(voucher: Voucher) -> None:
    """Count one use, atomically: the conditional update cannot pass the limit under
    concurrency. It locks the voucher row until commit. Raises VoucherUnavailable."""
    used = Voucher.objects.filter(
        Q(usage_limit__isnull=True) | Q(used_count__lt=F("usage_limit")), pk=voucher.pk
    ).update(used_count=F("used_count") + 1)
    if not used:
        raise VoucherUnavailable("This voucher has been used up.")


def voucher_use_return(voucher_id: int) -> None:
    """Give one use back (a cancelled order); locks the voucher row until commit."""
    Voucher.objects.filter(pk=voucher_id, used_count__gt=0).update(used_count=F("used_count") - 1)


def link_lock(link: ShopLink) -> ShopLink:
    """Lock the shop link's row; returns it fresh."""
    return ShopLink.objects.select_for_update().get(pk=link.pk)
