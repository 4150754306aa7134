"""A shop link's public URL and its QR code (SVG, drawn by `segno`), for staff to print."""

from __future__ import annotations

import io

import segno
from django.conf import settings
from django.http import HttpRequest


def link_public_url(request: HttpRequest, code: str) -> str:
    """The URL a shopper taps: SHOP_LINK_BASE_URL + /l/<code>, or this host's."""
    base = settings.SHOP_LINK_BASE_URL.rstrip("/")
    return f"{base}/l/{code}" if base else request.build_absolute_uri(f"/l/{code}")


def link_qr_svg(url: str) -> bytes:
    """The URL as an SVG QR code (error correction M, a quiet zone of 4 modules)."""
    buffer = io.BytesIO()
    segno.make(url, error="m", micro=False).save(buffer, kind="svg", scale=8, border=4)
    return buffer.getvalue()
