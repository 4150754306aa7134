"""The API's JSON renderer: DRF's, which reuses the bytes an answer was stored with.

An idempotent POST stores its answer (`channels_api.idempotency`) as the JSON its client
gets. Rendering it once for the record and again for the response, with a parse in
between, was three JSON passes over the same data on every checkout; now the record
keeps the rendered bytes (`prerendered`) and this renderer sends them, when nothing
asks for another rendering (an `indent` in the `Accept` header) and the response still
holds the data they were rendered from.
"""

from __future__ import annotations

from typing import Any

from rest_framework import renderers


def json_render(data: Any) -> bytes:
    """`data` as the API's JSON: what the renderer gives a client that asks for no indent."""
    return renderers.JSONRenderer().render(data)


def prerendered_set(response: Any, content: bytes) -> None:
    """Remember that `content` is `response.data` rendered by `json_render`."""
    response.prerendered = (response.data, content)


class JSONRenderer(renderers.JSONRenderer):
    def render(self, data, accepted_media_type=None, renderer_context=None) -> bytes:
        response = (renderer_context or {}).get("response")
        kept = getattr(response, "prerendered", None)
        if (
            kept is not None
            and kept[0] is data
            and type(self).encoder_class is renderers.JSONRenderer.encoder_class
            and self.get_indent(accepted_media_type, renderer_context or {}) is None
        ):
            return kept[1]
        return super().render(data, accepted_media_type, renderer_context)
