"""Lists as `{"results": [...], "next": url|null}`; `?limit=` (default 20, max 100), `?offset=`.

A `limit` over the maximum is capped (the contract); a `limit` or `offset` that is not
a whole number in range is a 400 naming it (`channels_api.query`).
"""

from __future__ import annotations

from django.conf import settings
from django.db.models import QuerySet
from rest_framework.pagination import BasePagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.urls import replace_query_param

from channels_api.query import MAX_OFFSET, integer_parameter


def page_limit(request: Request) -> int:
    """`?limit=`: at least 1; larger than API_PAGE_SIZE_MAX is capped, not refused."""
    default = settings.REST_FRAMEWORK["PAGE_SIZE"]
    limit = integer_parameter(request, "limit", default=default, minimum=1)
    return min(limit, settings.API_PAGE_SIZE_MAX)


class LimitPagination(BasePagination):
    """Fetches one row more than the page to know whether there is a next page: no COUNT query."""

    def paginate_queryset(self, queryset: QuerySet, request: Request, view=None) -> list:
        self.limit = page_limit(request)
        self.offset = integer_parameter(request, "offset", default=0, minimum=0, maximum=MAX_OFFSET)
        self.request = request
        rows = list(queryset[self.offset : self.offset + self.limit + 1])
        self.has_next = len(rows) > self.limit
        return rows[: self.limit]

    def get_next_link(self) -> str | None:
        if not self.has_next:
            return None
        url = self.request.build_absolute_uri()
        url = replace_query_param(url, "limit", self.limit)
        return replace_query_param(url, "offset", self.offset + self.limit)

    def get_paginated_response(self, data: list) -> Response:
        return Response({"results": data, "next": self.get_next_link()})

    def get_paginated_response_schema(self, schema: dict) -> dict:
        return {
            "type": "object",
            "required": ["results", "next"],
            "properties": {
                "results": schema,
                "next": {"type": "string", "nullable": True, "format": "uri"},
            },
        }

    def get_schema_operation_parameters(self, view) -> list[dict]:
        return [
            {
                "name": "limit",
                "in": "query",
                "required": False,
                "schema": {"type": "integer", "minimum": 1, "maximum": 100, "default": 20},
                "description": "Page size; larger values are capped at 100.",
            },
            {
                "name": "offset",
                "in": "query",
                "required": False,
                "schema": {"type": "integer", "minimum": 0, "maximum": MAX_OFFSET},
            },
        ]
