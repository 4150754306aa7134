"""Who sees and edits vouchers in the Django admin: each role, by the admin API's rule.

Reading goes by the table of reach (a viewer sees the vouchers that can apply in their
channels); adding and changing needs the role's permission and a scope of every channel,
as the admin API's voucher writes need a key not limited to one channel."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse

from channels_api.models import ApiKey
from orders.models import Voucher
from orders.services.setup import voucher_create
from staff.roles import STORE_MANAGER
from tests.conftest import Api
from tests.factories import make_key
from tests.shop_world import staff_user

pytestmark = pytest.mark.django_db

VOUCHERS = "/admin/orders/voucher/"


@pytest.fixture
def vouchers(shop):
    return {
        "web": voucher_create(code="WEB5", kind="fixed", value="5", channels=[shop.web]),
        "till": voucher_create(code="TILL5", kind="fixed", value="5", channels=[shop.till_soho]),
        "every": voucher_create(code="ALL10", kind="percentage", value="10"),
    }


def _listed(client) -> set[str] | int:
    page = client.get(VOUCHERS)
    if page.status_code != 200:
        return page.status_code
    return {voucher.code for voucher in page.context["cl"].result_list}


def _edit(client, voucher: Voucher) -> int:
    form = {"code": voucher.code, "kind": voucher.kind, "value": "7", "active": "on"}
    form["channels"] = [channel.pk for channel in voucher.channels.all()]
    return client.post(reverse("admin:orders_voucher_change", args=[voucher.pk]), form)


@pytest.mark.parametrize(
    ("who", "sees", "writes"),
    [
        ("owner", {"WEB5", "TILL5", "ALL10"}, True),
        ("support", {"WEB5", "TILL5", "ALL10"}, True),  # every channel
        ("web_support", {"WEB5", "ALL10"}, False),  # one channel: reads only
        ("till_manager", {"TILL5", "ALL10"}, False),
        ("soho_manager", set(), False),  # a store, no channel: nothing reaches
        ("picker", 403, False),  # no voucher permission
    ],
)
def test_each_role_sees_and_edits_vouchers_by_the_admin_apis_rule(
    client, shop, staff, vouchers, who, sees, writes
):
    people = {
        **staff,
        "till_manager": staff_user(
            "tia", STORE_MANAGER, channels=[shop.till_soho], warehouses=[shop.soho]
        ),
    }
    client.force_login(people[who])

    assert _listed(client) == sees
    add_page = client.get(reverse("admin:orders_voucher_add"))
    assert add_page.status_code == (200 if writes else 403)
    mine = vouchers["every"]
    page = client.get(reverse("admin:orders_voucher_change", args=[mine.pk]))
    if sees == 403:
        assert page.status_code == 403
    elif mine.code not in sees:
        assert page.status_code == 404  # out of their reach: it does not exist for them
    else:
        assert page.status_code == 200
        assert page.context["has_change_permission"] is writes
        assert (b'name="_save"' in page.content) is writes  # a read-only page otherwise
    edited = _edit(client, mine)
    assert edited.status_code == (302 if writes else 403)
    mine.refresh_from_db()
    assert mine.value == Decimal(7 if writes else 10)


def test_the_admin_api_writes_vouchers_by_the_same_rule(shop, vouchers):
    every = Api(make_key(None, kind=ApiKey.Kind.SECRET)[1])
    one_channel = Api(make_key(shop.web, kind=ApiKey.Kind.SECRET)[1])
    body = {"code": "NEW5", "kind": "fixed", "value": "5", "channels": ["web"]}

    assert one_channel.post("/api/v1/admin/vouchers", body).status_code == 403
    assert one_channel.patch("/api/v1/admin/vouchers/WEB5", {"value": "6"}).status_code == 403
    assert one_channel.get("/api/v1/admin/vouchers/WEB5").status_code == 200
    assert every.post("/api/v1/admin/vouchers", body).status_code == 201
    assert every.patch("/api/v1/admin/vouchers/WEB5", {"value": "6"}).status_code == 200
