"""Admin view for the sales report: revenue, orders, AOV and link conversion by channel or day."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from backoffice.exceptions import ValidationFailed
from backoffice.money import money_dict
from catalog.models import Channel
from channels_api.admin_api.base import AdminView
from channels_api.fields import MoneyOutput
from orders.reports import GROUPS, SalesRow, report_period, sales_report


class SalesRowOutput(serializers.Serializer):
    group = serializers.CharField(help_text="A channel code, or a UTC day (YYYY-MM-DD).")
    orders = serializers.IntegerField()
    revenue = MoneyOutput()
    average_order_value = MoneyOutput()
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
        "revenue": money_dict(row.revenue, row.currency),
        "average_order_value": money_dict(row.average_order_value, row.currency),
        "link_clicks": row.link_clicks,
        "link_orders": row.link_orders,
        "link_conversion": None if conversion is None else str(conversion),
    }


class SalesReportView(AdminView):
    pagination_class = None
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
        responses={200: SalesReportOutput},
    )
    def get(self, request: Request) -> Response:
        """Get the sales report.

        Orders placed in the period and not cancelled, by channel or UTC day: orders, revenue,
        average order value and shop-link conversion. Up to date at once. Reads only.
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
        return Response(
            {
                "group_by": group_by,
                "from": str(start),
                "to": str(end),
                "results": [sales_row_data(row) for row in rows],
            }
        )
