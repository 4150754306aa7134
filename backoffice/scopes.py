"""Who may see what: a viewer's scope (channels and warehouses) and the one table of reach.

A viewer is a staff user in the Django admin or a secret key of the admin API. An
unrestricted viewer (an owner, a key not limited to a channel) sees everything. A
scoped viewer (a store manager, a warehouse picker, a support agent of some channels,
a channel-limited key) sees an object only when one of the object's paths in `REACH`
leads to one of the viewer's channels or warehouses; kinds of object not in the table
(API keys, webhooks, the outbox, the audit trail, staff accounts) are hidden from every
scoped viewer.

Every admin list, search, export, object page and every admin API read that a scoped
viewer makes goes through `scope_filter`, and every write naming an object through
`scope_allows`: the rule has this one home. Models are named by label, so this module
imports no domain app.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.apps import apps
from django.db.models import F, Model, Q, QuerySet


@dataclass(frozen=True)
class Scope:
    """Channels and warehouses (by id) a viewer may see; None means every one."""

    channel_ids: frozenset[int] | None = None
    warehouse_ids: frozenset[int] | None = None

    @classmethod
    def everything(cls) -> Scope:
        return cls()

    @classmethod
    def nothing(cls) -> Scope:
        return cls(channel_ids=frozenset(), warehouse_ids=frozenset())

    @classmethod
    def of_channel(cls, channel_id: int) -> Scope:
        """What a channel-limited secret key sees: that channel, and no warehouse of its own."""
        return cls(channel_ids=frozenset({channel_id}), warehouse_ids=frozenset())

    @property
    def unrestricted(self) -> bool:
        return self.channel_ids is None and self.warehouse_ids is None


EVERYTHING = Scope.everything()


def scope_reaches_every_channel(scope: Scope) -> bool:
    """Whether a viewer may create and change what applies across channels (vouchers): one
    that reaches every channel, a secret key not limited to one channel or staff of every
    channel (whatever their warehouses). The admin API's voucher writes and the Django
    admin's voucher pages both ask this; reading stays the table of reach's."""
    return scope.channel_ids is None


@dataclass(frozen=True)
class Reach:
    """How one kind of object reaches channels and warehouses.

    `channels` and `warehouses` are ORM paths ending at a channel or a warehouse, any of
    which may reach; an entry that is a tuple of paths reaches only when all of them do
    (stock: a warehouse serving the channel, of a product the channel lists). `open_when`
    names a to-many path: an object with nothing on it is for everyone (a voucher valid
    in every channel). `currency` names a field holding the one currency the object is
    valid in (blank: any): it then reaches only channels that sell in it (a voucher with
    money in its terms, for every channel or not, is not a USD channel's when it is in
    EUR; checkout would refuse it there). `via` names a relation whose object decides
    instead (a line is visible with its order); `shared` objects (categories) are visible
    to every viewer.
    """

    channels: tuple[str | tuple[str, ...], ...] = ()
    warehouses: tuple[str, ...] = ()
    open_when: str = ""
    currency: str = ""
    via: str = ""
    shared: bool = False


_ORDER = Reach(
    channels=("channel",),
    warehouses=("shipping_method__pickup_warehouse", "fulfillments__warehouse"),
)

REACH: dict[str, Reach] = {
    # Catalog: what is listed in the viewer's channels or stocked in their warehouses.
    "catalog.category": Reach(shared=True),
    "catalog.channel": Reach(channels=("pk",), warehouses=("warehouses",)),
    "catalog.product": Reach(
        channels=("listings__channel",),
        warehouses=("listings__channel__warehouses", "variants__stock__warehouse"),
    ),
    "catalog.productvariant": Reach(
        channels=("product__listings__channel",),
        warehouses=("product__listings__channel__warehouses", "stock__warehouse"),
    ),
    "catalog.productimage": Reach(via="product"),
    "catalog.productlisting": Reach(channels=("channel",), warehouses=("channel__warehouses",)),
    "catalog.channelprice": Reach(channels=("channel",), warehouses=("channel__warehouses",)),
    # Inventory: the viewer's warehouses, and those serving the viewer's channels (there,
    # the stock of the products those channels list).
    "inventory.warehouse": Reach(channels=("channels",), warehouses=("pk",)),
    "inventory.warehousechannel": Reach(channels=("channel",), warehouses=("warehouse",)),
    "inventory.stocklevel": Reach(
        channels=(("warehouse__channels", "variant__product__listings__channel"),),
        warehouses=("warehouse",),
    ),
    "inventory.stockmovement": Reach(via="stock_level"),
    "inventory.reservation": Reach(via="stock_level"),
    "inventory.allocation": Reach(via="stock_level"),
    # Orders: sold in the viewer's channels, picked up at or shipped from their warehouses.
    "orders.order": _ORDER,
    "orders.salesreport": _ORDER,
    "orders.orderline": Reach(via="order"),
    "orders.payment": Reach(via="order"),
    "orders.orderevent": Reach(via="order"),
    "orders.ordermessage": Reach(via="order"),
    "orders.cart": Reach(channels=("channel",)),
    "orders.cartline": Reach(via="cart"),
    "orders.shippingmethod": Reach(channels=("channel",), warehouses=("pickup_warehouse",)),
    "orders.voucher": Reach(channels=("channels",), open_when="channels", currency="currency"),
    "orders.shoplink": Reach(channels=("channel",)),
    "orders.shoplinkline": Reach(via="link"),
    "orders.shoplinkclick": Reach(via="link"),
    # Fulfillment: shipments of the viewer's orders, from their warehouses or to be picked
    # up there.
    "fulfillment.fulfillment": Reach(
        channels=("order__channel",),
        warehouses=("warehouse", "order__shipping_method__pickup_warehouse"),
    ),
    "fulfillment.fulfillmentline": Reach(via="fulfillment"),
    "fulfillment.return": Reach(via="order"),
    "fulfillment.returnline": Reach(via="return_request"),
    "fulfillment.notification": Reach(via="order"),
    "pos.possale": Reach(channels=("channel",), warehouses=("store",)),
    # Delivery: the zones, couriers and trips of the viewer's stores, and the deliveries of
    # the viewer's orders.
    "delivery.deliveryzone": Reach(channels=("warehouse__channels",), warehouses=("warehouse",)),
    "delivery.deliveryslot": Reach(via="zone"),
    "delivery.courier": Reach(channels=("warehouses__channels",), warehouses=("warehouses",)),
    "delivery.delivery": Reach(channels=("order__channel",), warehouses=("zone__warehouse",)),
    "delivery.deliveryoffer": Reach(via="delivery"),
    "delivery.deliverylocation": Reach(via="delivery"),
}


def scope_filter(queryset: QuerySet, scope: Scope) -> QuerySet:
    """The part of `queryset` the scope may see (all of it for an unrestricted scope)."""
    if scope.unrestricted:
        return queryset
    model = queryset.model
    reach = REACH.get(model._meta.label_lower)
    if reach is None:
        return queryset.none()
    if reach.shared:
        return queryset
    if reach.via:
        related = model._meta.get_field(reach.via).related_model
        visible = scope_filter(related._base_manager.all(), scope)
        return queryset.filter(**{f"{reach.via}__in": visible.values("pk")})
    condition = Q(pk__in=[])
    multi_valued = False
    if reach.open_when and scope.channel_ids:
        # Valid in every channel, so in the viewer's too (in their currencies).
        condition |= Q(**{f"{reach.open_when}__isnull": True}) & _sold_in(reach, scope.channel_ids)
        multi_valued = True
    dimensions = ((scope.channel_ids, reach.channels), (scope.warehouse_ids, reach.warehouses))
    for ids, entries in dimensions:
        if not entries:
            continue
        if ids is None:
            return queryset  # every channel (or warehouse): whatever reaches one is visible
        if not ids:
            continue
        for entry in entries:
            paths = entry if isinstance(entry, tuple) else (entry,)
            group = Q()
            for path in paths:  # all must reach (usually one)
                group &= Q(**{f"{path}__in": sorted(ids)})
                if reach.currency and entries is reach.channels:
                    group &= Q(**{reach.currency: ""}) | Q(
                        **{reach.currency: F(f"{path}__currency")}
                    )
                multi_valued = multi_valued or _is_multi_valued(model, path)
            condition |= group
    if not multi_valued:
        return queryset.filter(condition)
    # A path through a to-many relation would repeat rows: ask for the ids instead.
    return queryset.filter(pk__in=model._base_manager.filter(condition).values("pk"))


def _sold_in(reach: Reach, channel_ids: frozenset[int]) -> Q:
    """An object of no currency, or of one some of these channels sell in."""
    if not reach.currency:
        return Q()
    channels = apps.get_model("catalog", "Channel")._base_manager.filter(pk__in=sorted(channel_ids))
    return Q(**{reach.currency: ""}) | Q(**{f"{reach.currency}__in": channels.values("currency")})


def scope_allows(scope: Scope, obj: Model) -> bool:
    """Whether the scope may see (and so act on) this one object."""
    if scope.unrestricted:
        return True
    return scope_filter(type(obj)._base_manager.filter(pk=obj.pk), scope).exists()


def scope_hides_everything_of(scope: Scope, model: type[Model]) -> bool:
    """Whether a kind of object is out of reach as a whole (developer tables for scoped staff)."""
    return not scope.unrestricted and model._meta.label_lower not in REACH


def _is_multi_valued(model: type[Model], path: str) -> bool:
    for name in path.split("__"):
        if name == "pk":
            return False
        field = model._meta.get_field(name)
        if field.many_to_many or field.one_to_many:
            return True
        model = field.related_model
    return False
