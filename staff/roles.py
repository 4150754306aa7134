"""The staff roles: Django groups with exactly these permissions, kept in step after migrate.

What a role may do is its permissions; where it may do it is each person's scope
(`staff.models.StaffProfile`). An owner is a member of "Owner" (or a superuser).
"""

from __future__ import annotations

from django.contrib.auth.models import Group, Permission
from django.db import DEFAULT_DB_ALIAS, connections

OWNER = "Owner"
SUPPORT = "Support"
STORE_MANAGER = "Store manager"
WAREHOUSE_PICKER = "Warehouse picker"

_CATALOG_READ = [
    "catalog.view_product",
    "catalog.view_productvariant",
    "catalog.view_category",
    "inventory.view_warehouse",
    "inventory.view_stocklevel",
    "inventory.view_stockmovement",
]

# Role: (what it is for, its permissions). None: every permission there is.
ROLES: dict[str, tuple[str, list[str] | None]] = {
    OWNER: ("Runs the business: everything, everywhere.", None),
    SUPPORT: (
        "Answers customers: orders, messages and refunds up to their limit.",
        [
            "orders.view_order",
            "orders.change_order",
            "orders.capture_order",
            "orders.refund_order",
            "orders.cancel_order",
            "orders.view_ordermessage",
            "orders.add_ordermessage",
            "orders.view_cart",
            "orders.view_shoplink",
            # Vouchers (a goodwill code, a campaign's): added and changed by those of every
            # channel only, as with the admin API (`scope_reaches_every_channel`).
            "orders.view_voucher",
            "orders.add_voucher",
            "orders.change_voucher",
            "fulfillment.view_fulfillment",
            "fulfillment.view_return",
            "fulfillment.view_notification",
            "pos.view_possale",
            "delivery.view_delivery",
            *_CATALOG_READ,
        ],
    ),
    STORE_MANAGER: (
        "Runs one store: its till sales, stock and pickups.",
        [
            "orders.view_order",
            "orders.capture_order",
            "orders.view_ordermessage",
            "orders.add_ordermessage",
            "orders.view_voucher",  # those valid in their store's till channel
            "fulfillment.view_fulfillment",
            "fulfillment.change_fulfillment",
            "pos.view_possale",
            "pos.change_possale",
            "inventory.change_stocklevel",
            "inventory.transfer_stock",
            "delivery.view_delivery",
            "delivery.change_delivery",
            "delivery.view_deliveryzone",
            "delivery.change_deliveryzone",
            "delivery.view_deliveryslot",
            "delivery.add_deliveryslot",
            "delivery.change_deliveryslot",
            "delivery.view_courier",
            "delivery.change_courier",
            *_CATALOG_READ,
        ],
    ),
    WAREHOUSE_PICKER: (
        "Packs and ships the shipments of one warehouse.",
        [
            "fulfillment.view_fulfillment",
            "fulfillment.change_fulfillment",
            *_CATALOG_READ,
        ],
    ),
}


def roles_sync() -> None:
    """Create the role groups and give each exactly its permissions (safe to run again)."""
    everything = list(Permission.objects.select_related("content_type"))
    by_name = {f"{p.content_type.app_label}.{p.codename}": p for p in everything}
    for name, (_, names) in ROLES.items():
        group, _ = Group.objects.get_or_create(name=name)
        if names is None:
            group.permissions.set(everything)
        else:
            group.permissions.set([by_name[n] for n in names if n in by_name])


def _after_migrate(sender, using: str = DEFAULT_DB_ALIAS, **kwargs) -> None:
    """post_migrate runs once per app: sync after the last one, when every permission exists
    (and not at all while the auth tables do not, e.g. after migrating one app alone)."""
    from django.apps import apps

    if sender.name != list(apps.get_app_configs())[-1].name:
        return
    tables = set(connections[using].introspection.table_names())
    if {Group._meta.db_table, Permission._meta.db_table} <= tables:
        roles_sync()
