"""Sales reports: revenue, orders, average order value and shop-link conversion per channel or day.

Figures come straight from the order table with SQL aggregates, so they are up to date
at once: an order counts on the UTC day it was placed, for its total, unless it was
cancelled. Shop-link conversion is link orders (orders whose attribution names a link)
over link clicks (taps on `/l/<code>`) in the same group.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from django.conf import settings
from django.db.models import Count, F, Q, Sum
from django.db.models.functions import TruncDate

from backoffice.exceptions import ValidationFailed
from backoffice.money import quantize
from backoffice.scopes import EVERYTHING, Scope, scope_filter
from catalog.models import Channel
from orders.models import Order, ShopLinkClick

GROUPS = ("channel", "day")
MAX_DAYS = 366


@dataclass(frozen=True)
class SalesRow:
    group: str
    currency: str
    orders: int
    revenue: Decimal
    link_clicks: int
    link_orders: int

    @property
    def average_order_value(self) -> Decimal:
        if not self.orders:
            return quantize(0, self.currency)
        return quantize(self.revenue / self.orders, self.currency)

    @property
    def link_conversion(self) -> Decimal | None:
        """Link orders per link click, or None without clicks."""
        if not self.link_clicks:
            return None
        return (Decimal(self.link_orders) / self.link_clicks).quantize(Decimal("0.0001"))


def report_period(*, date_from: str | None, date_to: str | None) -> tuple[date, date]:
    """Parse `from` and `to` (YYYY-MM-DD, both inclusive; default: the last 30 days)."""
    errors: dict[str, list[str]] = {}
    parsed: dict[str, date | None] = {}
    for field, value in (("from", date_from), ("to", date_to)):
        try:
            parsed[field] = date.fromisoformat(value) if value else None
        except ValueError:
            errors[field] = ["Use a date, YYYY-MM-DD."]
    if errors:
        raise ValidationFailed(errors)
    end = parsed["to"] or datetime.now(UTC).date()
    start = parsed["from"] or end - timedelta(days=29)
    if start > end:
        raise ValidationFailed({"from": ["Must not be after `to`."]})
    if (end - start).days >= MAX_DAYS:
        raise ValidationFailed({"to": [f"A report covers at most {MAX_DAYS} days."]})
    return start, end


def sales_report(
    *,
    date_from: date,
    date_to: date,
    group_by: str,
    channel: Channel | None = None,
    scope: Scope = EVERYTHING,
) -> list[SalesRow]:
    """One row per channel (or per UTC day, every day of the period) and currency, of the
    orders and link clicks the scope reaches.

    Three queries: orders, link orders and clicks are each one aggregate.
    """
    if group_by not in GROUPS:
        raise ValidationFailed({"group_by": [f"Use {' or '.join(GROUPS)}."]})
    start = datetime.combine(date_from, time.min, tzinfo=UTC)
    end = datetime.combine(date_to + timedelta(days=1), time.min, tzinfo=UTC)
    orders = Order.objects.filter(created_at__gte=start, created_at__lt=end).exclude(
        status=Order.Status.CANCELLED
    )
    clicks = ShopLinkClick.objects.filter(created_at__gte=start, created_at__lt=end)
    orders, clicks = scope_filter(orders, scope), scope_filter(clicks, scope)
    if channel is not None:
        orders = orders.filter(channel=channel)
        clicks = clicks.filter(link__channel=channel)
    if group_by == "channel":
        order_key, click_key = F("channel__code"), F("link__channel__code")
    else:
        order_key = TruncDate("created_at", tzinfo=UTC)
        click_key = TruncDate("created_at", tzinfo=UTC)
    totals = (
        orders.annotate(group=order_key)
        .values("group", "currency")
        .annotate(
            orders=Count("id"),
            revenue=Sum("total"),
            link_orders=Count("id", filter=Q(attribution__has_key="link")),
        )
        .order_by("group", "currency")
    )
    click_counts = {
        str(row["group"]): row["clicks"]
        for row in clicks.annotate(group=click_key).values("group").annotate(clicks=Count("id"))
    }
    rows: dict[tuple[str, str], SalesRow] = {}
    for row in totals:
        group = str(row["group"])
        rows[(group, row["currency"])] = SalesRow(
            group=group,
            currency=row["currency"],
            orders=row["orders"],
            revenue=quantize(row["revenue"] or 0, row["currency"]),
            link_clicks=click_counts.get(group, 0),
            link_orders=row["link_orders"],
        )
    # Groups with clicks or (per day) nothing at all still get a row, at zero.
    if group_by == "day":
        groups = [str(date_from + timedelta(days=n)) for n in range((date_to - date_from).days + 1)]
    else:
        groups = sorted(click_counts)
    seen = {group for group, _ in rows}
    currencies = dict(Channel.objects.values_list("code", "currency"))
    for group in groups:
        if group in seen:
            continue
        if channel is not None:
            currency = channel.currency
        else:
            currency = currencies.get(group, settings.DEFAULT_CURRENCY)
        rows[(group, currency)] = SalesRow(
            group=group,
            currency=currency,
            orders=0,
            revenue=quantize(0, currency),
            link_clicks=click_counts.get(group, 0),
            link_orders=0,
        )
    return [rows[key] for key in sorted(rows)]
