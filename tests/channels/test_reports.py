"""Sales by channel: the admin API report and the Django admin page, against orders made here."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.contrib.auth.models import User

from channels_api.models import ApiKey
from orders.models import Order, ShopLink, ShopLinkClick, Voucher
from orders.services.setup import voucher_create
from tests.channels_api.test_auth_and_errors import assert_problem
from tests.conftest import Api
from tests.factories import SHIPPING_ADDRESS, make_key

pytestmark = pytest.mark.django_db

REPORT = "/api/v1/admin/reports/sales"


def usd(amount: str) -> dict:
    return {"amount": amount, "currency": "USD"}


PAID = {"payment": {"provider": "test", "token": "tok_approve"}}


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


def refund(keys, order: Order, amount: str | None = None) -> None:
    body = {} if amount is None else {"amount": amount}
    response = keys["admin"].post(f"/api/v1/admin/orders/{order.pk}/refund", body)
    assert response.status_code == 200, response.json()


@pytest.fixture
def sales(keys):
    """TEE is 19.99, MUG 8.50; no shipping, no tax.

    May 1, counted: web 2 TEE (39.98); web 3 MUG with 10 % off (25.50 - 2.55 = 22.95);
    chatbot 1 MUG (8.50), 3.00 of it refunded today (it counts on May 1).
    May 1, also counted: a web MUG order left unpaid (8.50), a web TEE order only
    authorized (19.99). May 1, not counted: a paid web MUG order then cancelled (and so
    refunded), a web MUG order still waiting for its card payment (`pending_payment`).
    May 2, counted: web 1 TEE (19.99) refunded in full; an Instagram link order 1 TEE
    (19.99) from 4 clicks. May 3: a web TEE order outside the period."""
    voucher_create(code="TENOFF", kind=Voucher.Kind.PERCENTAGE, value="10")
    place(keys, "web", "TEE", 2, "2024-05-01", **PAID)
    place(keys, "web", "MUG", 3, "2024-05-01", voucher_code="TENOFF", **PAID)
    refund(keys, place(keys, "chatbot", "MUG", 1, "2024-05-01", **PAID), "3.00")
    place(keys, "web", "MUG", 1, "2024-05-01")
    place(
        keys, "web", "TEE", 1, "2024-05-01", payment={"provider": "test", "token": "tok_authorize"}
    )
    cancelled = place(keys, "web", "MUG", 2, "2024-05-01", **PAID)
    assert keys["admin"].post(f"/api/v1/admin/orders/{cancelled.pk}/cancel").status_code == 200
    waiting = place(keys, "web", "MUG", 1, "2024-05-01")
    Order.objects.filter(pk=waiting.pk).update(status=Order.Status.PENDING_PAYMENT)
    refund(keys, place(keys, "web", "TEE", 1, "2024-05-02", **PAID))
    link = (
        keys["admin"]
        .post("/api/v1/admin/links", {"channel": "instagram", "lines": [{"sku": "TEE"}]})
        .json()
    )
    cart = keys["instagram"].post(f"/api/v1/store/links/{link['code']}/cart").json()
    keys["instagram"].patch(
        f"/api/v1/store/carts/{cart['id']}", {"shipping_address": SHIPPING_ADDRESS}
    )
    order = keys["instagram"].post(f"/api/v1/store/carts/{cart['id']}/complete", PAID).json()
    Order.objects.filter(pk=order["id"]).update(created_at=datetime(2024, 5, 2, 9, tzinfo=UTC))
    shop_link = ShopLink.objects.get(code=link["code"])
    ShopLinkClick.objects.bulk_create(ShopLinkClick(link=shop_link) for _ in range(4))
    ShopLinkClick.objects.update(created_at=datetime(2024, 5, 2, 8, tzinfo=UTC))
    place(keys, "web", "TEE", 1, "2024-05-03", **PAID)


def figures(row: dict) -> tuple:
    money = ("gross", "discounts", "revenue", "refunds", "net", "average_order_value")
    return (row["group"], row["orders"], *(row[name]["amount"] for name in money))


def test_sales_by_channel_count_orders_placed_and_not_cancelled_paid_or_not(keys, sales):
    response = keys["admin"].get(f"{REPORT}?group_by=channel&from=2024-05-01&to=2024-05-02")

    assert response.status_code == 200
    body = response.json()
    assert (body["group_by"], body["from"], body["to"]) == ("channel", "2024-05-01", "2024-05-02")
    # group, orders, gross, discounts, revenue, refunds, net, average order value
    assert [figures(row) for row in body["results"]] == [
        ("chatbot", 1, "8.50", "0.00", "8.50", "3.00", "5.50", "8.50"),
        ("instagram", 1, "19.99", "0.00", "19.99", "0.00", "19.99", "19.99"),
        ("web", 5, "113.96", "2.55", "111.41", "19.99", "91.42", "22.28"),
    ]
    assert body["results"][2]["revenue"] == usd("111.41")
    links = [(r["link_clicks"], r["link_orders"], r["link_conversion"]) for r in body["results"]]
    assert links == [(0, 0, None), (4, 1, "0.2500"), (0, 0, None)]


def test_sales_by_day_include_every_day_of_the_period_with_to_inclusive(keys, sales):
    response = keys["admin"].get(f"{REPORT}?group_by=day&from=2024-04-30&to=2024-05-02")

    # A refund counts on its order's day, whenever it was made (these were made today).
    assert [figures(row) for row in response.json()["results"]] == [
        ("2024-04-30", 0, "0.00", "0.00", "0.00", "0.00", "0.00", "0.00"),
        ("2024-05-01", 5, "102.47", "2.55", "99.92", "3.00", "96.92", "19.98"),
        ("2024-05-02", 2, "39.98", "0.00", "39.98", "19.99", "19.99", "19.99"),
    ]
    assert response.json()["results"][2]["link_conversion"] == "0.2500"


def test_a_later_payment_keeps_revenue_and_a_later_refund_lowers_net_at_once(keys, sales):
    unpaid = Order.objects.get(channel__code="web", payment_status="unpaid", status="pending")
    url = f"{REPORT}?group_by=day&from=2024-05-01&to=2024-05-01"

    # Cash collected on delivery today, for an order placed (and counted) on May 1.
    assert keys["admin"].post(f"/api/v1/admin/orders/{unpaid.pk}/capture").status_code == 200
    refund(keys, Order.objects.get(channel__code="web", total="39.98"), "10.00")

    [row] = keys["admin"].get(url).json()["results"]
    assert figures(row) == ("2024-05-01", 5, "102.47", "2.55", "99.92", "13.00", "86.92", "19.98")


def test_a_card_checkout_counts_once_confirmed_and_not_once_expired(keys, sales):
    waiting = Order.objects.get(status=Order.Status.PENDING_PAYMENT)
    url = f"{REPORT}?group_by=day&from=2024-05-01&to=2024-05-01"

    Order.objects.filter(pk=waiting.pk).update(status=Order.Status.CONFIRMED)
    [confirmed] = keys["admin"].get(url).json()["results"]
    Order.objects.filter(pk=waiting.pk).update(status=Order.Status.CANCELLED)
    [expired] = keys["admin"].get(url).json()["results"]

    assert (confirmed["orders"], confirmed["revenue"]) == (6, usd("108.42"))
    assert (expired["orders"], expired["revenue"]) == (5, usd("99.92"))


def test_the_csv_answer_has_the_same_figures(keys, sales):
    url = f"{REPORT}?group_by=channel&from=2024-05-01&to=2024-05-02"

    response = keys["admin"].get(url, HTTP_ACCEPT="text/csv")

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == (
        'attachment; filename="sales-by-channel-2024-05-01-2024-05-02.csv"'
    )
    assert response.content.decode().splitlines() == CSV_BY_CHANNEL
    assert keys["admin"].get(f"{url}&format=csv").content.decode().splitlines() == CSV_BY_CHANNEL


def test_errors_stay_problem_json_when_csv_is_asked_for(keys):
    response = keys["admin"].get(f"{REPORT}?from=2024-13-01", HTTP_ACCEPT="text/csv")

    problem = assert_problem(response, 400, "invalid")
    assert list(problem["errors"]) == ["from"]


def test_a_format_not_served_is_400_naming_format(keys):
    response = keys["admin"].get(f"{REPORT}?format=xlsx")

    problem = assert_problem(response, 400, "invalid")
    assert problem["errors"] == {"format": ["Not served here; use csv, json."]}


CSV_BY_CHANNEL = [
    "channel,currency,orders,gross,discounts,revenue,refunds,net,average_order_value,"
    "link_clicks,link_orders,link_conversion",
    "chatbot,USD,1,8.50,0.00,8.50,3.00,5.50,8.50,0,0,",
    "instagram,USD,1,19.99,0.00,19.99,0.00,19.99,19.99,4,1,0.2500",
    "web,USD,5,113.96,2.55,111.41,19.99,91.42,22.28,0,0,",
]


def test_a_channel_limited_key_sees_only_its_channel(keys, sales, channels):
    limited = Api(make_key(channels["web"], kind=ApiKey.Kind.SECRET)[1])

    rows = limited.get(f"{REPORT}?from=2024-05-01&to=2024-05-03").json()["results"]

    assert [(row["group"], row["orders"]) for row in rows] == [("web", 6)]
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


def test_the_admin_page_shows_the_same_figures_and_exports_the_same_csv(staff_client, sales):
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
    table = html.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    cells = [cell.split(">", 1)[1].split("</td>", 1)[0] for cell in table.split("<td")[1:]]
    assert cells[-11:] == [
        "web", "5", "$113.96", "$2.55", "$111.41", "$19.99", "$91.42",
        "$22.28", "0", "0", "&ndash;",
    ]  # fmt: skip
    assert "25 %" in html
    assert csv["Content-Type"] == "text/csv; charset=utf-8"
    assert csv.content.decode().splitlines() == CSV_BY_CHANNEL
