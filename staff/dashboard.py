"""The admin home page: today's sales and what needs someone, each a link to its filtered list.

Every figure is read through the viewer's scope, and a card shows only when the viewer
may open the list it links to.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta

from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode

from backoffice.money import money_format
from backoffice.outbox.models import WebhookEndpoint
from backoffice.scopes import Scope, scope_filter
from backoffice.staff_policy import scope_of_user
from catalog.models import Channel
from fulfillment.models import Fulfillment
from inventory.models import StockLevel
from inventory.selectors import stock_level_filter_low, stock_level_list
from orders.models import Order
from orders.reports.sales import sales_report
from pos.models import PosSale

LIST_LENGTH = 5


@dataclass
class Item:
    text: str
    url: str
    detail: str = ""


@dataclass
class Card:
    title: str
    count: int
    url: str
    empty: str
    items: list[Item] = field(default_factory=list)


def _changelist(model, **filters) -> str:
    url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
    return f"{url}?{urlencode(filters)}" if filters else url


def _change(obj) -> str:
    return reverse(f"admin:{obj._meta.app_label}_{obj._meta.model_name}_change", args=[obj.pk])


def _can_view(request, model) -> bool:
    return request.user.has_perm(f"{model._meta.app_label}.view_{model._meta.model_name}")


def dashboard(request) -> dict:
    scope = scope_of_user(request.user)
    today = timezone.now().astimezone(UTC).date()
    context: dict = {"today": today, "cards": []}
    if _can_view(request, Order):
        context["sales"] = _sales_today(scope, today)
        context["cards"].append(_unpaid(scope))
    if _can_view(request, Fulfillment):
        context["cards"] += _to_pack_and_ship(scope)
    if _can_view(request, StockLevel):
        context["cards"].append(_low_stock(scope))
    if _can_view(request, PosSale):
        context["cards"].append(_flagged_pos_sales(scope))
    if _can_view(request, WebhookEndpoint):
        context["cards"].append(_failing_webhooks(scope))
    return context


def _sales_today(scope: Scope, today) -> dict:
    """Orders placed today and their value per channel (the sales report's own figures)."""
    since = datetime.combine(today, time.min, tzinfo=UTC)
    until = since + timedelta(days=1)
    ids = dict(Channel.objects.values_list("code", "pk"))
    names = dict(Channel.objects.values_list("code", "name"))
    rows = []
    for row in sales_report(date_from=today, date_to=today, group_by="channel", scope=scope):
        rows.append(
            {
                "channel": names.get(row.group, row.group),
                "orders": row.orders,
                "revenue": money_format(row.revenue, row.currency),
                "url": _changelist(
                    Order,
                    channel__id__exact=ids.get(row.group, ""),
                    created_at__gte=str(since),
                    created_at__lt=str(until),
                ),
            }
        )
    return {
        "rows": rows,
        "all_url": _changelist(Order, created_at__gte=str(since), created_at__lt=str(until)),
        "report_url": reverse("admin:orders_salesreport_changelist"),
    }


def _unpaid(scope: Scope) -> Card:
    orders = scope_filter(
        Order.objects.filter(
            status=Order.Status.PENDING, payment_status=Order.PaymentStatus.UNPAID
        ),
        scope,
    ).select_related("channel")
    return Card(
        title="Waiting for payment",
        count=orders.count(),
        url=_changelist(Order, status__exact="pending", payment_status__exact="unpaid"),
        empty="No unpaid orders.",
        items=[
            Item(
                f"#{order.number}",
                _change(order),
                f"{money_format(order.total, order.currency)}, {order.channel.name}",
            )
            for order in orders.order_by("created_at")[:LIST_LENGTH]
        ],
    )


def _to_pack_and_ship(scope: Scope) -> list[Card]:
    cards = []
    for status, title, empty in (
        (Fulfillment.Status.PENDING, "To pack", "Nothing to pack."),
        (Fulfillment.Status.PACKED, "Packed, to ship", "Nothing waiting for the carrier."),
    ):
        waiting = scope_filter(Fulfillment.objects.filter(status=status), scope)
        waiting = waiting.exclude(order__status=Order.Status.CANCELLED)
        oldest = waiting.select_related("order", "warehouse").order_by("created_at")
        cards.append(
            Card(
                title=title,
                count=waiting.count(),
                url=_changelist(Fulfillment, status__exact=status),
                empty=empty,
                items=[
                    Item(
                        f"#{f.order.number}",
                        _change(f),
                        f"from {f.warehouse.name}, {timezone.localtime(f.created_at):%b %d %H:%M}",
                    )
                    for f in oldest[:LIST_LENGTH]
                ],
            )
        )
    return cards


def _low_stock(scope: Scope) -> Card:
    low = stock_level_filter_low(stock_level_list(scope=scope))
    return Card(
        title="Low stock",
        count=low.count(),
        url=_changelist(StockLevel, low="yes"),
        empty="Every variant is above its low-stock threshold.",
        items=[
            Item(
                f"{level.variant.sku}",
                _change(level),
                f"{level.available} available in {level.warehouse.name}",
            )
            for level in low.order_by("available", "id")[:LIST_LENGTH]
        ],
    )


def _flagged_pos_sales(scope: Scope) -> Card:
    flagged = scope_filter(PosSale.objects.filter(status=PosSale.Status.FLAGGED), scope)
    return Card(
        title="Till sales to check",
        count=flagged.count(),
        url=_changelist(PosSale, status__exact="flagged"),
        empty="Every till upload went through.",
        items=[
            Item(sale.client_id, _change(sale), sale.reason)
            for sale in flagged.order_by("created_at")[:LIST_LENGTH]
        ],
    )


def _failing_webhooks(scope: Scope) -> Card:
    # An endpoint the deliveries turned off keeps its failure count; one staff turned off
    # by hand, with none, is not failing.
    failing = scope_filter(WebhookEndpoint.objects.filter(consecutive_failures__gt=0), scope)
    return Card(
        title="Failing webhook endpoints",
        count=failing.count(),
        url=_changelist(WebhookEndpoint, consecutive_failures__gt=0),
        empty="Every webhook endpoint is answering.",
        items=[
            Item(
                endpoint.url,
                _change(endpoint),
                "turned off"
                if not endpoint.active
                else f"{endpoint.consecutive_failures} failures",
            )
            for endpoint in failing.order_by("-consecutive_failures")[:LIST_LENGTH]
        ],
    )
