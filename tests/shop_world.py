"""A pytest plugin (see tests/conftest.py): a shop with two stores and a warehouse, orders in
each, and a staff member per role, for the staff and browser tests.

- `web` ships from `main` (and may pick up at `soho`); each store has its own till channel.
- Orders: a paid web order planned from `main`, a till sale at `soho`, one at `harbour`,
  and a web order planned from `main` to be picked up at `soho`.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.contrib.auth.models import Group, User

from catalog.models import Channel
from fulfillment.services import fulfillment_create
from inventory.models import Warehouse
from orders.models import Order
from orders.services import CheckoutInput, checkout_direct
from orders.services.setup import shipping_method_create
from orders.services.validation import LineRequest
from pos.services import PosSaleInput, pos_sale_place
from staff.models import RefundLimit, StaffProfile
from staff.roles import OWNER, STORE_MANAGER, SUPPORT, WAREHOUSE_PICKER
from tests.factories import make_channel, make_product, make_warehouse, receive

PASSWORD = "a-long-staff-password-1"
ADDRESS = {
    "name": "Ada Lovelace",
    "line1": "1 Main St",
    "city": "Springfield",
    "postal_code": "12345",
    "country": "US",
}


@dataclass
class Shop:
    web: Channel
    till_soho: Channel
    till_harbour: Channel
    main: Warehouse
    soho: Warehouse
    harbour: Warehouse
    web_order: Order
    soho_sale: Order
    harbour_sale: Order
    soho_pickup: Order


def staff_user(username: str, role: str | None, *, channels=(), warehouses=(), **profile) -> User:
    user = User.objects.create_user(username, f"{username}@example.com", PASSWORD, is_staff=True)
    if role:
        user.groups.add(Group.objects.get(name=role))
    if channels or warehouses or profile:
        scope = StaffProfile.objects.create(user=user, **profile)
        scope.channels.set(channels)
        scope.warehouses.set(warehouses)
    return user


def _checkout(channel: Channel, sku: str, method: str, **payment) -> Order:
    return checkout_direct(
        channel=channel,
        data=CheckoutInput(
            lines=[LineRequest(sku=sku, quantity=1)],
            email="ada@example.com",
            shipping_address=ADDRESS,
            shipping_method=method,
            payment=payment or {"provider": "test", "token": "tok_approve"},
        ),
    ).order


def _till_sale(channel: Channel, store: str) -> Order:
    sale = PosSaleInput(
        lines=[LineRequest(sku="MUG", quantity=1)],
        payment={"provider": "manual", "method": "cash"},
        store=store,
    )
    return pos_sale_place(channel=channel, data=sale).order


@pytest.fixture
def shop(db) -> Shop:
    web = make_channel("web", name="Web store", storefront_url="https://shop.example.com")
    till_soho = make_channel("till-soho", name="Soho till", kind=Channel.Kind.POS)
    till_harbour = make_channel("till-harbour", name="Harbour till", kind=Channel.Kind.POS)
    main = make_warehouse("main", name="Main warehouse", channels=[web])
    soho = make_warehouse(
        "soho", name="Soho store", kind=Warehouse.Kind.STORE, channels=[till_soho, web]
    )
    harbour = make_warehouse(
        "harbour", name="Harbour store", kind=Warehouse.Kind.STORE, channels=[till_harbour]
    )
    everywhere = [web, till_soho, till_harbour]
    tee = make_product(slug="tee", name="Tee", skus={"TEE": "19.99"}, channels=everywhere)
    mug = make_product(slug="mug", name="Mug", skus={"MUG": "8.50"}, channels=everywhere)
    for variant in (*tee.variants.all(), *mug.variants.all()):
        for warehouse in (main, soho, harbour):
            receive(variant, warehouse, 10)
    shipping_method_create(channel=web, code="standard", name="Standard", price="4.99")
    shipping_method_create(
        channel=web, code="pickup", name="Pick up in Soho", kind="pickup", pickup_warehouse="soho"
    )
    for channel, store in ((till_soho, "soho"), (till_harbour, "harbour")):
        shipping_method_create(
            channel=channel, code="till", name="At the till", kind="pickup", pickup_warehouse=store
        )
    web_order = _checkout(web, "TEE", "standard")
    fulfillment_create(order=web_order)  # the planner's job, done here at once
    soho_pickup = _checkout(web, "MUG", "pickup")
    fulfillment_create(order=soho_pickup)  # ships from main, to be picked up in Soho
    return Shop(
        web=web,
        till_soho=till_soho,
        till_harbour=till_harbour,
        main=main,
        soho=soho,
        harbour=harbour,
        web_order=web_order,
        soho_sale=_till_sale(till_soho, "soho"),
        harbour_sale=_till_sale(till_harbour, "harbour"),
        soho_pickup=soho_pickup,
    )


@pytest.fixture
def staff(shop: Shop) -> dict[str, User]:
    support = staff_user("sam", SUPPORT, all_channels=True)
    RefundLimit.objects.create(user=support, currency="USD", amount="20.00")
    return {
        "owner": staff_user("olive", OWNER),
        "support": support,
        "soho_manager": staff_user("stella", STORE_MANAGER, warehouses=[shop.soho]),
        "harbour_manager": staff_user("hugo", STORE_MANAGER, warehouses=[shop.harbour]),
        "picker": staff_user("pia", WAREHOUSE_PICKER, warehouses=[shop.main]),
        "web_support": staff_user("wes", SUPPORT, channels=[shop.web]),
        "no_scope": staff_user("nina", SUPPORT),
    }
