"""Sales reports: what a merchant reads as sales, per channel or per UTC day, and link conversion.

Which orders count (the API contract: "the total of orders placed in the period and not
cancelled"): placed in the period (the UTC day of `created_at`), whatever their payment
stands at, and neither cancelled (an expired card checkout is cancelled too) nor still
waiting for the customer to confirm a card payment (`pending_payment`: no sale yet; it
counts once confirmed, on the day it was placed). An unpaid order (cash on delivery) or
one only authorized counts; refunds are subtracted in `net`, not excluded.

The figures per group, in its currency (each identity holds exactly):
- `orders`: how many orders count;
- `gross`: their totals with the discounts added back (goods, shipping and tax);
- `discounts`: the voucher discounts given on them;
- `revenue` = gross - discounts: what the customers were charged, the orders' totals;
- `refunds`: what has been refunded on those orders so far, whenever it was refunded (a
  refund counts on its order's day, so a later refund lowers that day's net at once);
- `net` = revenue - refunds: what the merchant keeps;
- `average_order_value` = revenue / orders.

Figures come straight from the order and payment tables with SQL aggregates, so they are
up to date at once. Shop-link conversion is link orders (counted orders whose
attribution names a link) over link clicks (taps on `/l/<code>`) in the same group.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from django.conf import settings
from django.db.models import Count, F, Q, QuerySet, Sum
from django.db.models.functions import TruncDate

from backoffice.exceptions import ValidationFailed
from backoffice.money import money_plain, quantize
from backoffice.scopes import EVERYTHING, Scope, scope_filter
from catalog.models import Channel
from orders.models import Order, Payment, ShopLinkClick

GROUPS = ("channel", "day")
MAX_DAYS = 366
# Placed and standing: a sale whatever its payment (refunds are subtracted, not excluded).
# Not `cancelled` (nor expired, which cancels) and not `pending_payment` (no sale yet).
PLACED = (Order.Status.PENDING, Order.Status.CONFIRMED, Order.Status.COMPLETED)
CSV_COLUMNS = [
    "currency",
    "orders",
    "gross",
    "discounts",
    "revenue",
    "refunds",
    "net",
    "average_order_value",
    "link_clicks",
    "link_orders",
    "link_conversion",
]


@dataclass(frozen=True)
class SalesRow:
    group: str
    currency: str
    orders: int
    revenue: Decimal
    discounts: Decimal
    refunds: Decimal
    link_clicks: int
    link_orders: int

    @property
    def gross(self) -> Decimal:
        return self.revenue + self.discounts

    @property
    def net(self) -> Decimal:
        return self.revenue - self.refunds

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
    if parsed.get("to") == date.max:  # the period ends the day after `to`: there is none
        errors["to"] = [f"Use a date before {date.max}."]
    if errors:
        raise ValidationFailed(errors)
    end = parsed["to"] or datetime.now(UTC).date()
    # The last 30 days, or as many as the calendar has before `to` (0001-01-01 has none).
    start = parsed["from"] or end - timedelta(days=min(29, (end - date.min).days))
    if start > end:
        raise ValidationFailed({"from": ["Must not be after `to`."]})
    if (end - start).days >= MAX_DAYS:
        raise ValidationFailed({"to": [f"A report covers at most {MAX_DAYS} days."]})
    return start, end


def counted_orders(*, start: datetime, end: datetime, channel: Channel | None) -> QuerySet[Order]:
    """The orders a sales report counts: placed in [start, end) and standing (`PLACED`)."""
    orders = Order.objects.filter(created_at__gte=start, created_at__lt=end, status__in=PLACED)
    return orders if channel is None else orders.filter(channel=channel)


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

    Four queries: the orders, their refunds, the link clicks and the channels' currencies.
    """
    if group_by not in GROUPS:
        raise ValidationFailed({"group_by": [f"Use {' or '.join(GROUPS)}."]})
    start = datetime.combine(date_from, time.min, tzinfo=UTC)
    end = datetime.combine(date_to + timedelta(days=1), time.min, tzinfo=UTC)
    orders = scope_filter(counted_orders(start=start, end=end, channel=channel), scope)
    payments = Payment.objects.filter(order__in=orders.values("pk"), refunded_amount__gt=0)
    clicks = scope_filter(
        ShopLinkClick.objects.filter(created_at__gte=start, created_at__lt=end), scope
    )
    if channel is not None:
        clicks = clicks.filter(link__channel=channel)
    if group_by == "channel":
        order_key, refund_key = F("channel__code"), F("order__channel__code")
        click_key = F("link__channel__code")
    else:
        order_key = TruncDate("created_at", tzinfo=UTC)
        refund_key = TruncDate("order__created_at", tzinfo=UTC)
        click_key = TruncDate("created_at", tzinfo=UTC)
    totals = (
        orders.annotate(group=order_key)
        .values("group", "currency")
        .annotate(
            orders=Count("id"),
            revenue=Sum("total"),
            discounts=Sum("discount"),
            link_orders=Count("id", filter=Q(attribution__has_key="link")),
        )
        .order_by("group", "currency")
    )
    refunds = {
        (str(row["group"]), row["order__currency"]): row["refunds"]
        for row in payments.annotate(group=refund_key)
        .values("group", "order__currency")
        .annotate(refunds=Sum("refunded_amount"))
        .order_by()
    }
    click_counts = {
        str(row["group"]): row["clicks"]
        for row in clicks.annotate(group=click_key)
        .values("group")
        .annotate(clicks=Count("id"))
        .order_by()
    }
    rows: dict[tuple[str, str], SalesRow] = {}
    for row in totals:
        group, currency = str(row["group"]), row["currency"]
        rows[(group, currency)] = SalesRow(
            group=group,
            currency=currency,
            orders=row["orders"],
            revenue=quantize(row["revenue"] or 0, currency),
            discounts=quantize(row["discounts"] or 0, currency),
            refunds=quantize(refunds.get((group, currency)) or 0, currency),
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
        zero = quantize(0, currency)
        rows[(group, currency)] = SalesRow(
            group=group,
            currency=currency,
            orders=0,
            revenue=zero,
            discounts=zero,
            refunds=zero,
            link_clicks=click_counts.get(group, 0),
            link_orders=0,
        )
    return [rows[key] for key in sorted(rows)]


def sales_report_csv(rows: list[SalesRow], group_by: str) -> str:
    """The report as CSV, the same figures as the API and the admin page, one row per group."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([group_by, *CSV_COLUMNS])
    for row in rows:
        conversion = row.link_conversion
        writer.writerow(
            [
                row.group,
                row.currency,
                row.orders,
                *(
                    money_plain(getattr(row, name), row.currency)
                    for name in ("gross", "discounts", "revenue", "refunds", "net")
                ),
                money_plain(row.average_order_value, row.currency),
                row.link_clicks,
                row.link_orders,
                "" if conversion is None else conversion,
            ]
        )
    return buffer.getvalue()


def sales_report_filename(group_by: str, date_from: date, date_to: date) -> str:
    return f"sales-by-{group_by}-{date_from}-{date_to}.csv"
