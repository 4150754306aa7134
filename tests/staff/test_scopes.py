"""The table of reach: what each role's scope sees, for staff and channel-limited keys alike."""

from __future__ import annotations

import pytest

from backoffice.audit.models import AuditEntry
from backoffice.scopes import REACH, Scope, scope_allows, scope_filter
from backoffice.staff_policy import scope_of_user
from channels_api.models import ApiKey
from fulfillment.models import Fulfillment
from inventory.models import StockLevel, StockMovement, Warehouse
from orders.models import Order, OrderLine
from pos.models import PosSale

pytestmark = pytest.mark.django_db


def numbers(queryset) -> set[str]:
    return {order.number for order in queryset}


def test_a_store_manager_sees_their_stores_till_sales_pickups_and_stock(shop, staff):
    scope = scope_of_user(staff["soho_manager"])

    assert numbers(scope_filter(Order.objects.all(), scope)) == {
        shop.soho_sale.number,
        shop.soho_pickup.number,
    }
    assert {w.code for w in scope_filter(Warehouse.objects.all(), scope)} == {"soho"}
    assert {lv.warehouse.code for lv in scope_filter(StockLevel.objects.all(), scope)} == {"soho"}
    assert {m.stock_level.warehouse.code for m in scope_filter(StockMovement.objects, scope)} == {
        "soho"
    }
    assert scope_filter(PosSale.objects.all(), scope).count() == 0  # recorded sales keep no row
    assert set(scope_filter(OrderLine.objects.all(), scope).values_list("order_id", flat=True)) == {
        shop.soho_sale.pk,
        shop.soho_pickup.pk,
    }


def test_a_picker_sees_the_shipments_of_their_warehouse_only(shop, staff):
    scope = scope_of_user(staff["picker"])

    fulfillments = scope_filter(Fulfillment.objects.all(), scope)

    # The web order, and the Soho pickup that leaves from main too.
    assert {f.order_id for f in fulfillments} == {shop.web_order.pk, shop.soho_pickup.pk}
    assert {f.warehouse.code for f in Fulfillment.objects.all()} == {"main", "soho", "harbour"}


def test_support_for_one_channel_sees_that_channels_orders(shop, staff):
    scope = scope_of_user(staff["web_support"])

    assert numbers(scope_filter(Order.objects.all(), scope)) == {
        shop.web_order.number,
        shop.soho_pickup.number,
    }
    # Stock of the warehouses serving the channel.
    assert {w.code for w in scope_filter(Warehouse.objects.all(), scope)} == {"main", "soho"}


def test_owners_and_all_channel_support_see_everything_and_no_profile_sees_nothing(shop, staff):
    assert scope_of_user(staff["owner"]).unrestricted
    assert scope_filter(Order.objects.all(), scope_of_user(staff["support"])).count() == 4
    nobody = scope_of_user(staff["no_scope"])
    assert scope_filter(Order.objects.all(), nobody).count() == 0
    assert scope_filter(StockLevel.objects.all(), nobody).count() == 0


def test_developer_tables_are_out_of_reach_of_every_scoped_viewer(shop, staff):
    for scope in (scope_of_user(staff["support"]), Scope.of_channel(shop.web.pk)):
        assert scope_filter(ApiKey.objects.all(), scope).count() == 0
        assert scope_filter(AuditEntry.objects.all(), scope).count() == 0
    assert "channels_api.apikey" not in REACH


def test_a_channel_limited_key_sees_what_reaches_its_channel(shop):
    scope = Scope.of_channel(shop.till_harbour.pk)

    assert numbers(scope_filter(Order.objects.all(), scope)) == {shop.harbour_sale.number}
    assert scope_allows(scope, shop.harbour) and not scope_allows(scope, shop.soho)
    assert not scope_allows(scope, shop.web_order)


def test_lists_through_to_many_paths_repeat_no_row(shop, staff):
    """A product listed in two of a viewer's channels is one row, not two."""
    from catalog.models import Product

    scope = Scope(channel_ids=frozenset({shop.web.pk, shop.till_soho.pk}), warehouse_ids=None)
    limited = Scope(
        channel_ids=frozenset({shop.web.pk, shop.till_soho.pk}), warehouse_ids=frozenset()
    )

    assert scope_filter(Product.objects.all(), scope).count() == 2
    assert list(
        scope_filter(Product.objects.order_by("id"), limited).values_list("slug", flat=True)
    ) == [
        "tee",
        "mug",
    ]
