"""Admin views for till sales: recorded and flagged sales, filterable by status."""

from __future__ import annotations

import django_filters
from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from channels_api.admin_api.base import AdminView
from channels_api.pos_output import AdminPosSaleOutput, admin_pos_sale_data
from pos.models import PosSale
from pos.selectors import pos_sale_list


class PosSaleFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=PosSale.Status.choices)
    channel = django_filters.CharFilter(field_name="channel__code")

    class Meta:
        model = PosSale
        fields: list[str] = []


class PosSaleListView(AdminView):
    filterset_class = PosSaleFilter
    serializer_class = AdminPosSaleOutput

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation: no key
            return PosSale.objects.none()
        return pos_sale_list(scope=self.scope)

    @extend_schema(operation_id="admin_pos_sales_list", tags=["admin: point of sale"])
    def get(self, request: Request) -> Response:
        """List till sales.

        Recorded and `flagged` sales (offline sales that could not be made), by `status` or
        `channel`. Reads only.
        """
        sales = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response([admin_pos_sale_data(sale) for sale in sales])
