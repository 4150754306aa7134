"""Output shapes of shop links for the store (what a shopper may see) and for staff."""

from __future__ import annotations

from django.http import HttpRequest
from rest_framework import serializers

from backoffice.timefmt import rfc3339
from channels_api.fields import MoneyOutput, money
from orders.links.qr import link_public_url
from orders.links.selectors import LinkView


class LinkProductOutput(serializers.Serializer):
    slug = serializers.CharField()
    name = serializers.CharField()
    description = serializers.CharField()
    media = serializers.ListField(child=serializers.CharField())


class StoreLinkLineOutput(serializers.Serializer):
    sku = serializers.CharField()
    name = serializers.CharField()
    quantity = serializers.IntegerField(help_text="Units each cart from the link gets.")
    price = MoneyOutput(allow_null=True)
    available = serializers.IntegerField(
        help_text="While the allotment lasts, what is left of it; else the channel's stock."
    )
    product = LinkProductOutput()


class StoreLinkOutput(serializers.Serializer):
    code = serializers.CharField()
    channel = serializers.CharField()
    name = serializers.CharField()
    campaign = serializers.DictField()
    status = serializers.CharField(help_text="active, sold_out, expired, inactive or used_up")
    sold_out = serializers.BooleanField()
    ring_fenced = serializers.BooleanField()
    expires_at = serializers.DateTimeField(allow_null=True)
    allotment_until = serializers.DateTimeField(allow_null=True)
    lines = StoreLinkLineOutput(many=True)


def store_link_data(view: LinkView) -> dict:
    link, currency = view.link, view.link.channel.currency
    return {
        "code": link.code,
        "channel": link.channel.code,
        "name": link.name,
        "campaign": link.campaign,
        "status": view.status,
        "sold_out": view.sold_out,
        "ring_fenced": view.fenced,
        "expires_at": rfc3339(link.expires_at),
        "allotment_until": rfc3339(link.allotment_until),
        "lines": [
            {
                "sku": item.variant.sku,
                "name": item.variant.name or item.variant.product.name,
                "quantity": item.line.quantity,
                "price": money(item.price, currency),
                "available": item.available,
                "product": {
                    "slug": item.variant.product.slug,
                    "name": item.variant.product.name,
                    "description": item.variant.product.description,
                    "media": item.variant.product.media,
                },
            }
            for item in view.lines
        ],
    }


class AdminLinkLineOutput(StoreLinkLineOutput):
    allotment = serializers.IntegerField(help_text="Units ring-fenced at creation.")


class AdminLinkOutput(StoreLinkOutput):
    url = serializers.CharField(help_text="The public link: GET redirects to a ready cart.")
    qr_url = serializers.CharField()
    lines = AdminLinkLineOutput(many=True)
    usage_limit = serializers.IntegerField(allow_null=True)
    voucher_code = serializers.CharField(allow_null=True)
    active = serializers.BooleanField()
    clicks = serializers.IntegerField()
    carts = serializers.IntegerField()
    orders = serializers.IntegerField()
    conversion = serializers.CharField(allow_null=True, help_text="Orders per click, 4 decimals.")
    created_by = serializers.CharField()
    created_at = serializers.DateTimeField()


def admin_link_data(view: LinkView, request: HttpRequest) -> dict:
    link = view.link
    data = store_link_data(view)
    for line, item in zip(data["lines"], view.lines, strict=True):
        line["allotment"] = item.line.allotment
    conversion = None
    if link.clicks:
        conversion = f"{link.orders_count / link.clicks:.4f}"
    data.update(
        {
            "url": link_public_url(request, link.code),
            "qr_url": request.build_absolute_uri(f"/api/v1/admin/links/{link.code}/qr"),
            "usage_limit": link.usage_limit,
            "voucher_code": link.voucher.code if link.voucher_id else None,
            "active": link.active,
            "clicks": link.clicks,
            "carts": link.carts_count,
            "orders": link.orders_count,
            "conversion": conversion,
            "created_by": link.created_by,
            "created_at": rfc3339(link.created_at),
        }
    )
    return data
