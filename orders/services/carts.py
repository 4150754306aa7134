"""Cart workflows: create, change lines (re-reserving stock), contact and delivery, release.

Each change locks the cart row first, then the stock rows it re-reserves (the system's
lock order, docs/architecture.md).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from backoffice.exceptions import DomainError, NotFound, ValidationFailed
from backoffice.sql import table, writes_run
from backoffice.transactions import NO_PARTNER, CommitPartner, Statement
from catalog.models import Channel, ProductVariant
from catalog.selectors import variants_for_sale_by_sku
from inventory.services import (
    StockLine,
    stock_extend,
    stock_held_until,
    stock_release,
    stock_reserve,
    stock_reserve_held_until,
)
from orders.delivery_hook import delivery_planner
from orders.errors import CartCompleted
from orders.locks import cart_lock
from orders.models import Cart, CartLine, ShippingMethod
from orders.pricing import (
    PricedLine,
    Totals,
    compute_totals,
    lines_totals_check,
    price_line,
    price_lines,
    totals_check,
)
from orders.selectors import variants_for_sale, variants_sellable
from orders.services.validation import (
    LineRequest,
    address_clean,
    lines_clean,
    phone_clean,
    shipping_method_find,
    voucher_find,
)

CartLineInput = LineRequest
UNSET: Any = object()


@dataclass(frozen=True)
class CartView:
    """A cart priced now. A line whose SKU the channel stopped selling has `priced` None."""

    cart: Cart
    lines: list[tuple[CartLine, PricedLine | None]]
    totals: Totals


def _price(
    cart: Cart, quantities: dict[int, int], sellable: dict[int, ProductVariant] | None = None
) -> tuple[dict[int, PricedLine], Totals]:
    """Price `{variant_id: quantity}` in the cart's channel, with the cart's shipping and
    voucher; SKUs the channel stopped selling are left out (one query for prices, unless
    `sellable`, the variants the channel sells by id, was read already)."""
    if sellable is None:
        sellable = variants_sellable(channel=cart.channel, variant_ids=list(quantities))
    priced = {
        variant_id: price_line(
            channel=cart.channel, variant=sellable[variant_id], quantity=quantity
        )
        for variant_id, quantity in quantities.items()
        if variant_id in sellable
    }
    totals = compute_totals(
        channel=cart.channel,
        lines=list(priced.values()),
        shipping_method=cart.shipping_method,
        voucher=cart.voucher,
        delivery_fee=_delivery_fee(cart, list(priced.values())),
    )
    return priced, totals


def cart_totals(*, cart: Cart) -> CartView:
    """Price the cart's lines and totals with today's channel prices (one query for prices)."""
    lines = list(cart.lines.all())
    priced, totals = _price(cart, {line.variant_id: line.quantity for line in lines})
    return CartView(
        cart=cart, lines=[(line, priced.get(line.variant_id)) for line in lines], totals=totals
    )


def _delivery_fee(cart: Cart, lines: list[PricedLine]) -> Decimal | None:
    """The zone's fee for an on-demand delivery cart; None (the method's price) while the
    cart cannot be delivered yet (no address, outside every zone, below the minimum...)."""
    method = cart.shipping_method
    if method is None or method.kind != ShippingMethod.Kind.LOCAL_DELIVERY:
        return None
    try:
        return (
            delivery_planner()
            .quote(
                channel=cart.channel,
                address=cart.shipping_address,
                subtotal=sum((line.total for line in lines), Decimal(0)),
                cart=cart,
            )
            .fee
        )
    except DomainError:
        return None


def _refresh_reserved_until(cart: Cart) -> None:
    cart.reserved_until = stock_held_until(holder=cart.holder)


def cart_create(
    *,
    channel: Channel,
    lines: list[LineRequest],
    email: str = "",
    phone: str = "",
    attribution: dict[str, Any] | None = None,
) -> Cart:
    """Create a cart whose lines reserve stock for the channel's TTL.

    All or nothing: unknown SKUs, or lines whose order could not be stored (too large an
    amount) → ValidationFailed; not enough stock → InsufficientStock, and no cart is created.
    """
    lines = lines_clean(lines)
    variants = variants_for_sale(channel=channel, skus=[line.sku for line in lines])
    lines_totals_check(
        channel=channel, lines=price_lines(channel=channel, variants=variants, lines=lines)
    )
    phone = phone_clean(phone)
    with transaction.atomic():
        cart = Cart(
            id=uuid.uuid4(),
            channel=channel,
            email=email,
            phone=phone,
            attribution=attribution or {},
        )
        stock_reserve(
            channel=channel,
            holder=cart.holder,
            lines=[StockLine(variant=variants[line.sku], quantity=line.quantity) for line in lines],
        )
        _refresh_reserved_until(cart)
        cart.save(force_insert=True)
        CartLine.objects.bulk_create(
            CartLine(cart=cart, variant=variants[line.sku], quantity=line.quantity)
            for line in lines
        )
    return cart


def _lock_open_cart(cart: Cart) -> Cart:
    # The shipping method and voucher are read too: a line change prices the cart with them.
    locked = cart_lock(cart, "channel", "shipping_method", "voucher")
    if locked.status != Cart.Status.OPEN:
        raise CartCompleted()
    return locked


def _cart_quantities(cart: Cart) -> dict[int, int]:
    """The cart's quantities by variant id (one query)."""
    return dict(CartLine.objects.filter(cart=cart).values_list("variant_id", "quantity"))


def _cart_totals_check(
    cart: Cart,
    *,
    field: str,
    changes: dict[int, int] | None = None,
    quantities: dict[int, int] | None = None,
) -> None:
    """Refuse a change (`changes`: {variant_id: new quantity}, or the cart's shipping and
    voucher as set in memory) after which the cart could not become an order: too large an
    amount to store. Checked before any stock row is locked. `quantities` (the cart's, as
    `_cart_quantities` reads them) spares the read."""
    quantities = dict(_cart_quantities(cart) if quantities is None else quantities)
    quantities.update(changes or {})
    priced, totals = _price(cart, quantities)
    totals_check(lines=list(priced.values()), totals=totals, field=field)


def _set_line_quantity(cart: Cart, sku: str, quantity: int) -> None:
    """Set one SKU's quantity (0 removes it) and re-reserve its stock.

    Call with the cart locked: its lines are read once, and the line is then updated or
    inserted knowing which (no `update_or_create` with its savepoints and second read).
    """
    lines_clean([LineRequest(sku=sku, quantity=max(quantity, 1))])
    variant = variants_for_sale(channel=cart.channel, skus=[sku])[sku]
    if quantity == 0:
        stock_release(holder=cart.holder, variant_ids=[variant.pk])
        CartLine.objects.filter(cart=cart, variant=variant).delete()
        return
    quantities = _cart_quantities(cart)
    other_lines = len(quantities.keys() - {variant.pk})
    if other_lines + 1 > settings.CART_MAX_LINES:
        raise ValidationFailed({"lines": [f"At most {settings.CART_MAX_LINES} different SKUs."]})
    _cart_totals_check(cart, field="lines", changes={variant.pk: quantity}, quantities=quantities)
    stock_reserve(
        channel=cart.channel,
        holder=cart.holder,
        lines=[StockLine(variant=variant, quantity=quantity)],
    )
    if variant.pk in quantities:
        CartLine.objects.filter(cart=cart, variant=variant).update(quantity=quantity)
    else:
        CartLine.objects.create(cart=cart, variant=variant, quantity=quantity)


def cart_line_add(
    *, cart: Cart, sku: str, quantity: int, commit_with: CommitPartner = NO_PARTNER
) -> CartView:
    """Add units of a SKU (to its line if present); reserves them or raises InsufficientStock.

    `cart` needs only its id and channel (the view does not read it first): the cart is
    locked by both here (NotFound for another channel's). Owns its transaction, with
    `commit_with` (the HTTP layer's stored answer) as checkout does: it begins first, and
    its answer, rendered from what was priced here (nothing is read again), is written in
    the last statement with the line and the cart. 12 statements with an Idempotency-Key
    (docs/performance.md): under the stock lock run the holds' read, their replacement,
    and that last write.
    """
    with transaction.atomic():
        commit_with.begin()
        cart = _lock_open_cart_in_channel(cart)
        if quantity < 1:
            raise ValidationFailed({"quantity": ["Must be at least 1."]})
        lines = list(
            CartLine.objects.filter(cart=cart)
            .select_related("variant")
            .order_by("created_at", "id")
        )
        line = next((line for line in lines if line.variant.sku == sku), None)
        new_quantity = quantity + (line.quantity if line else 0)
        lines_clean([LineRequest(sku=sku, quantity=new_quantity)])
        skus = [sku, *(other.variant.sku for other in lines if other is not line)]
        sellable = {v.sku: v for v in variants_for_sale_by_sku(channel=cart.channel, skus=skus)}
        variant = sellable.get(sku)
        if variant is None:
            raise ValidationFailed({"lines": [f"SKU '{sku}' is not sold in this channel."]})
        if len({ln.variant_id for ln in lines} - {variant.pk}) + 1 > settings.CART_MAX_LINES:
            raise ValidationFailed(
                {"lines": [f"At most {settings.CART_MAX_LINES} different SKUs."]}
            )
        now = timezone.now()
        if line is None:
            line = CartLine(id=uuid.uuid4(), cart=cart, variant=variant, created_at=now)
            lines.append(line)
            new = True
        else:
            new = False
        line.quantity = new_quantity
        by_id = {v.pk: v for v in sellable.values()}
        priced, totals = _price(cart, {ln.variant_id: ln.quantity for ln in lines}, by_id)
        totals_check(lines=list(priced.values()), totals=totals, field="lines")
        cart.reserved_until = stock_reserve_held_until(
            channel=cart.channel,
            holder=cart.holder,
            lines=[StockLine(variant=variant, quantity=new_quantity)],
        )
        cart.updated_at = now
        view = CartView(
            cart=cart, lines=[(ln, priced.get(ln.variant_id)) for ln in lines], totals=totals
        )
        _line_add_write(cart, line, new, commit_with.finish(view))
    return view


def _lock_open_cart_in_channel(cart: Cart) -> Cart:
    """Lock the cart by its id and channel (NotFound for another channel's), open."""
    locked = (
        Cart.objects.select_for_update(of=("self",))
        .select_related("channel", "shipping_method", "voucher")
        .filter(pk=cart.pk, channel_id=cart.channel_id)
        .first()
    )
    if locked is None:
        raise NotFound()
    if locked.status != Cart.Status.OPEN:
        raise CartCompleted()
    return locked


def _line_add_write(cart: Cart, line: CartLine, new: bool, answer: Statement | None) -> None:
    """The line (inserted or its quantity set), the cart's `reserved_until`, and the stored
    answer: one statement on PostgreSQL (`writes_run`)."""

    def prep(model: type, name: str, value: object) -> object:
        return model._meta.get_field(name).get_db_prep_value(value, connection)

    line_id = prep(CartLine, "id", line.id)
    cart_id = prep(Cart, "id", cart.id)
    if new:
        line_write = (
            f"INSERT INTO {table(CartLine)} (id, cart_id, variant_id, quantity, created_at) "  # noqa: S608
            "VALUES (%s, %s, %s, %s, %s)",
            [
                line_id,
                cart_id,
                line.variant_id,
                line.quantity,
                prep(CartLine, "created_at", line.created_at),
            ],
        )
    else:
        line_write = (
            f"UPDATE {table(CartLine)} SET quantity = %s WHERE id = %s",  # noqa: S608
            [line.quantity, line_id],
        )
    cart_write = (
        f"UPDATE {table(Cart)} SET reserved_until = %s, updated_at = %s WHERE id = %s",  # noqa: S608
        [
            prep(Cart, "reserved_until", cart.reserved_until),
            prep(Cart, "updated_at", cart.updated_at),
            cart_id,
        ],
    )
    writes_run(line_write, answer, cart_write)
    line._state.adding, line._state.db = False, connection.alias


def _line(cart: Cart, line_id: str) -> CartLine:
    try:
        pk = uuid.UUID(str(line_id))
    except ValueError:
        pk = None
    line = CartLine.objects.select_related("variant").filter(cart=cart, pk=pk).first()
    if line is None:
        raise NotFound("No such line in this cart.")
    return line


def cart_line_update(*, cart: Cart, line_id: str, quantity: int) -> Cart:
    """Change a line's quantity; the stock hold follows (0 removes the line)."""
    if quantity < 0:
        raise ValidationFailed({"quantity": ["Must be 0 or more."]})
    with transaction.atomic():
        cart = _lock_open_cart(cart)
        line = _line(cart, line_id)
        _set_line_quantity(cart, line.variant.sku, quantity)
        _refresh_reserved_until(cart)
        cart.save(update_fields=["reserved_until", "updated_at"])
    return cart


def cart_line_remove(*, cart: Cart, line_id: str) -> Cart:
    """Remove a line and release its stock at once."""
    with transaction.atomic():
        cart = _lock_open_cart(cart)
        line = _line(cart, line_id)
        stock_release(holder=cart.holder, variant_ids=[line.variant_id])
        line.delete()
        _refresh_reserved_until(cart)
        cart.save(update_fields=["reserved_until", "updated_at"])
    return cart


def cart_update(
    *,
    cart: Cart,
    email: str | None = UNSET,
    phone: str | None = UNSET,
    shipping_address: dict | None = UNSET,
    shipping_method: str | None = UNSET,
    voucher_code: str | None = UNSET,
) -> Cart:
    """Set contact, address, shipping method and voucher; all are checked before any is saved
    (a shipping method after which the total could not be stored is refused)."""
    with transaction.atomic():
        cart = _lock_open_cart(cart)
        if email is not UNSET:
            cart.email = email or ""
        if phone is not UNSET:
            cart.phone = phone_clean(phone)
        if shipping_address is not UNSET:
            cart.shipping_address = address_clean(shipping_address, field="shipping_address")
        if shipping_method is not UNSET:
            cart.shipping_method = shipping_method_find(channel=cart.channel, code=shipping_method)
        if voucher_code is not UNSET:
            view = cart_totals(cart=Cart.objects.prefetch_related("lines").get(pk=cart.pk))
            cart.voucher = voucher_find(
                channel=cart.channel, code=voucher_code, subtotal=view.totals.subtotal
            )
        if shipping_method is not UNSET and cart.shipping_method is not None:
            _cart_totals_check(cart, field="shipping_method")
        cart.save()
    return cart


def cart_release(*, cart: Cart) -> Cart:
    """Give the cart's held stock back at once (e.g. a chat ended); the lines stay."""
    with transaction.atomic():
        cart = _lock_open_cart(cart)
        stock_release(holder=cart.holder)
        cart.reserved_until = None
        cart.save(update_fields=["reserved_until", "updated_at"])
    return cart


def cart_extend(*, cart: Cart, seconds: int) -> datetime | None:
    """Keep the cart's holds for `seconds` more from now, up to the channel's maximum."""
    with transaction.atomic():
        cart = _lock_open_cart(cart)
        expires_at = stock_extend(channel=cart.channel, holder=cart.holder, seconds=seconds)
        if expires_at is None:
            raise ValidationFailed(
                {"seconds": ["The cart holds no stock now; add or change a line to reserve again."]}
            )
        cart.reserved_until = expires_at
        cart.save(update_fields=["reserved_until", "updated_at"])
    return expires_at
