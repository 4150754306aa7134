"""Admin view for the sales report: gross, discounts, revenue, refunds, net, orders, AOV and
link conversion by channel or day, as JSON or (`Accept: text/csv`) CSV."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from backoffice.exceptions import ValidationFailed
from backoffice.money import money_dict
from catalog.models import Channel
from channels_api.admin_api.base import AdminView
from channels_api.fields import MoneyOutput
from orders.reports.sales import (
    GROUPS,
    SalesRow,
    report_period,
    sales_report,
    sales_report_csv,
    sales_report_filename,
)


class CsvRenderer(BaseRenderer):
    """Text the view made as CSV; an error stays problem+json (its content type is set)."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None) -> bytes:
        if isinstance(data, str):
            return data.encode(self.charset)
        return JSONRenderer().render(data)


class SalesRowOutput(serializers.Serializer):
    group = serializers.CharField(help_text="A channel code, or a UTC day (YYYY-MM-DD).")
    orders = serializers.IntegerField(help_text="Orders placed in the group, paid, not cancelled.")
    gross = MoneyOutput(help_text="Their totals with the discounts added back.")
    discounts = MoneyOutput()
    revenue = MoneyOutput(help_text="What customers were charged: gross - discounts.")
    refunds = MoneyOutput(help_text="Refunded on these orders so far, whenever refunded.")
    net = MoneyOutput(help_text="revenue - refunds.")
    average_order_value = MoneyOutput(help_text="revenue / orders.")
    link_clicks = serializers.IntegerField()
    link_orders = serializers.IntegerField()
    link_conversion = serializers.CharField(allow_null=True, help_text="Orders per click.")


# Declared with type(): "from" is a Python keyword and cannot be a class attribute name.
SalesReportOutput = type(
    "SalesReportOutput",
    (serializers.Serializer,),
    {
        "group_by": serializers.CharField(),
        "from": serializers.DateField(),
        "to": serializers.DateField(),
        "results": SalesRowOutput(many=True),
    },
)


def sales_row_data(row: SalesRow) -> dict:
    conversion = row.link_conversion
    return {
        "group": row.group,
        "orders": row.orders,
        "gross": money_dict(row.gross, row.currency),
        "discounts": money_dict(row.discounts, row.currency),
        "revenue": money_dict(row.revenue, row.currency),
        "refunds": money_dict(row.refunds, row.currency),
        "net": money_dict(row.net, row.currency),
        "average_order_value": money_dict(row.average_order_value, row.currency),
        "link_clicks": row.link_clicks,
        "link_orders": row.link_orders,
        "link_conversion": None if conversion is None else str(conversion),
    }


class SalesReportView(AdminView):
    pagination_class = None
    renderer_classes = [JSONRenderer, CsvRenderer]
    query_parameters = ("group_by", "from", "to", "channel")

    @extend_schema(
        operation_id="admin_reports_sales",
        tags=["admin: reports"],
        parameters=[
            OpenApiParameter("group_by", str, enum=list(GROUPS), default="channel"),
            OpenApiParameter("from", str, description="YYYY-MM-DD (default: 29 days before `to`)"),
            OpenApiParameter("to", str, description="YYYY-MM-DD, inclusive (default: today)"),
            OpenApiParameter("channel", str, description="Only this channel."),
        ],
        responses={
            (200, "application/json"): SalesReportOutput,
            (200, "text/csv"): OpenApiTypes.STR,
        },
    )
    def get(self, request: Request) -> Response:
        """Get the sales report.

        Orders placed in the period, paid and not cancelled, by channel or UTC day: orders,
        gross, discounts, revenue, refunds, net, average order value and shop-link conversion
        (docs/api.md, "Sales report", defines each). Up to date at once. Reads only.
        `Accept: text/csv` (or `?format=csv`) answers the same figures as CSV, one row per
        group, as the Django admin's download does.
        """
        params = request.query_params
        start, end = report_period(date_from=params.get("from"), date_to=params.get("to"))
        channel = self.limited_channel
        if params.get("channel"):
            wanted = Channel.objects.filter(code=params["channel"][:50].replace("\x00", "")).first()
            if wanted is None:
                raise ValidationFailed({"channel": ["Unknown channel."]})
            self.require_channel_access(wanted)
            channel = wanted
        group_by = params.get("group_by") or "channel"
        rows = sales_report(date_from=start, date_to=end, group_by=group_by, channel=channel)
        if request.accepted_renderer.format == CsvRenderer.format:
            filename = sales_report_filename(group_by, start, end)
            return Response(
                sales_report_csv(rows, group_by),
                headers={"Content-Disposition": f'attachment; filename="{filename}"'},
            )
        return Response(
            {
                "group_by": group_by,
                "from": str(start),
                "to": str(end),
                "results": [sales_row_data(row) for row in rows],
            }
        )
