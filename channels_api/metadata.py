"""OPTIONS answers name the endpoint and its formats; the OpenAPI schema is the full reference."""

from __future__ import annotations

from rest_framework.metadata import BaseMetadata


class MinimalMetadata(BaseMetadata):
    def determine_metadata(self, request, view) -> dict:
        return {
            "name": view.get_view_name(),
            "renders": [renderer.media_type for renderer in view.get_renderers()],
            "parses": [parser.media_type for parser in view.get_parsers()],
            "schema": "/api/v1/schema/",
        }
