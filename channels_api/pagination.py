"""Lists as `{"results": [...], "next": url|null}`; `?limit=` (default 20, max 100), `?offset=`."""

from __future__ import annotations

from django.conf import settings
from django.db.models import QuerySet
from rest_framework.pagination import BasePagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.urls import replace_query_param


def _non_negative(value: str | None, default: int) -> int:
    try:
        return max(0, int(value)) if value is not None else default
    except ValueError:
        return default


class LimitPagination(BasePagination):
    """Fetches one row more than the page to know whether there is a next page: no COUNT query."""

    def paginate_queryset(self, queryset: QuerySet, request: Request, view=None) -> list:
        default = settings.REST_FRAMEWORK["PAGE_SIZE"]
        self.limit = min(
            _non_negative(request.query_params.get("limit"), default) or default,
            settings.API_PAGE_SIZE_MAX,
        )
        self.offset = _non_negative(request.query_params.get("offset"), 0)
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
                "schema": {"type": "integer", "minimum": 0},
            },
        ]
