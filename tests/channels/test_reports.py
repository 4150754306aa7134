"""Sales by channel: the admin API report and the Django admin page, against orders made here."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.contrib.auth.models import User

from channels_api.models import ApiKey
from orders.models import Order, ShopLink, ShopLinkClick
from tests.channels_api.test_auth_and_errors import assert_problem
from tests.conftest import Api
from tests.factories import SHIPPING_ADDRESS, make_key

pytestmark = pytest.mark.django_db

REPORT = "/api/v1/admin/reports/sales"


def usd(amount: str) -> dict:
    return {"amount": amount, "currency": "USD"}


def place(keys, channel: str, sku: str, quantity: int, day: str, **extra) -> Order:
    response = keys[channel].post(
        "/api/v1/store/checkout",
        {
            "lines": [{"sku": sku, "quantity": quantity}],
            "shipping_address": SHIPPING_ADDRESS,
            **extra,
        },
    )
    assert response.status_code == 201, response.json()
    order = Order.objects.get(pk=response.json()["id"])
    placed = datetime.fromisoformat(f"{day}T12:00:00").replace(tzinfo=UTC)
    Order.objects.filter(pk=order.pk).update(created_at=placed)
    return order


@pytest.fixture
def sales(keys):
    """May 1: web 2 TEE (39.98), chatbot 1 MUG (8.50), a cancelled web MUG order;
    May 2: web 1 MUG (8.50), an Instagram link order 1 TEE (19.99) from 4 clicks;
    May 3: a web TEE order outside the period."""
    place(keys, "web", "TEE", 2, "2024-05-01")
    place(keys, "chatbot", "MUG", 1, "2024-05-01")
    cancelled = place(keys, "web", "MUG", 3, "2024-05-01")
    assert keys["admin"].post(f"/api/v1/admin/orders/{cancelled.pk}/cancel").status_code == 200
    place(keys, "web", "MUG", 1, "2024-05-02")
    link = (
        keys["admin"]
        .post("/api/v1/admin/links", {"channel": "instagram", "lines": [{"sku": "TEE"}]})
        .json()
    )
    cart = keys["instagram"].post(f"/api/v1/store/links/{link['code']}/cart").json()
    keys["instagram"].patch(
        f"/api/v1/store/carts/{cart['id']}", {"shipping_address": SHIPPING_ADDRESS}
    )
    order = keys["instagram"].post(f"/api/v1/store/carts/{cart['id']}/complete", {}).json()
    Order.objects.filter(pk=order["id"]).update(created_at=datetime(2024, 5, 2, 9, tzinfo=UTC))
    shop_link = ShopLink.objects.get(code=link["code"])
    ShopLinkClick.objects.bulk_create(ShopLinkClick(link=shop_link) for _ in range(4))
    ShopLinkClick.objects.update(created_at=datetime(2024, 5, 2, 8, tzinfo=UTC))
    place(keys, "web", "TEE", 1, "2024-05-03")


def test_sales_by_channel_count_placed_orders_that_are_not_cancelled(keys, sales):
    response = keys["admin"].get(f"{REPORT}?group_by=channel&from=2024-05-01&to=2024-05-02")

    assert response.status_code == 200
    assert response.json() == {
        "group_by": "channel",
        "from": "2024-05-01",
        "to": "2024-05-02",
        "results": [
            {"group": "chatbot", "orders": 1, "revenue": usd("8.50"),
             "average_order_value": usd("8.50"), "link_clicks": 0, "link_orders": 0,
             "link_conversion": None},
            {"group": "instagram", "orders": 1, "revenue": usd("19.99"),
             "average_order_value": usd("19.99"), "link_clicks": 4, "link_orders": 1,
             "link_conversion": "0.2500"},
            {"group": "web", "orders": 2, "revenue": usd("48.48"),
             "average_order_value": usd("24.24"), "link_clicks": 0, "link_orders": 0,
             "link_conversion": None},
        ],
    }  # fmt: skip


def test_sales_by_day_include_every_day_of_the_period_with_to_inclusive(keys, sales):
    response = keys["admin"].get(f"{REPORT}?group_by=day&from=2024-04-30&to=2024-05-02")

    rows = [
        (
            row["group"],
            row["orders"],
            row["revenue"]["amount"],
            row["average_order_value"]["amount"],
        )
        for row in response.json()["results"]
    ]
    assert rows == [
        ("2024-04-30", 0, "0.00", "0.00"),
        ("2024-05-01", 2, "48.48", "24.24"),
        ("2024-05-02", 2, "28.49", "14.25"),
    ]
    assert response.json()["results"][2]["link_conversion"] == "0.2500"


def test_a_channel_limited_key_sees_only_its_channel(keys, sales, channels):
    limited = Api(make_key(channels["web"], kind=ApiKey.Kind.SECRET)[1])

    rows = limited.get(f"{REPORT}?from=2024-05-01&to=2024-05-03").json()["results"]

    assert [(row["group"], row["orders"]) for row in rows] == [("web", 3)]
    assert_problem(limited.get(f"{REPORT}?channel=chatbot"), 403, "permission_denied")


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("from=2024-13-01", "from"),
        ("to=yesterday", "to"),
        ("from=2024-05-02&to=2024-05-01", "from"),
        ("from=2023-01-01&to=2024-05-01", "to"),
        ("group_by=week", "group_by"),
    ],
)
def test_bad_report_parameters_are_400(keys, query, field):
    problem = assert_problem(keys["admin"].get(f"{REPORT}?{query}"), 400, "invalid")
    assert list(problem["errors"]) == [field]


@pytest.fixture
def staff_client(client):
    user = User.objects.create_superuser("boss", "boss@example.com", "pw-long-enough-123")
    client.force_login(user)
    return client


def test_the_admin_page_draws_the_chart_and_exports_csv(staff_client, sales):
    page = staff_client.get(
        "/admin/orders/salesreport/?group_by=channel&from=2024-05-01&to=2024-05-02"
    )
    csv = staff_client.get(
        "/admin/orders/salesreport/?group_by=channel&from=2024-05-01&to=2024-05-02&format=csv"
    )

    assert page.status_code == 200
    html = page.content.decode()
    assert "<title>Revenue by group</title>" in html and html.count("<rect") == 3
    chart = html.split('<div class="sales-chart">', 1)[1].split("</svg>", 1)[0]
    assert "<script" not in html.split('<div id="content-main">', 1)[1]
    assert "href=" not in chart and "src=" not in chart  # drawn here, nothing fetched
    assert "48.48 USD" in html and "25 %" in html
    assert csv["Content-Type"] == "text/csv; charset=utf-8"
    assert csv.content.decode().splitlines() == [
        "channel,currency,orders,revenue,average_order_value,link_clicks,link_orders,link_conversion",
        "chatbot,USD,1,8.50,8.50,0,0,",
        "instagram,USD,1,19.99,19.99,4,1,0.2500",
        "web,USD,2,48.48,24.24,0,0,",
    ]
