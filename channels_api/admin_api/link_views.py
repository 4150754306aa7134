"""Admin views for shop links: list, create, read, deactivate, and the QR code to print."""

from __future__ import annotations

from django.conf import settings
from django.http import Http404, HttpResponse
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from backoffice.fields import COUNT_MAX
from channels_api.admin_api.base import AdminView
from channels_api.idempotency import idempotent
from channels_api.link_output import AdminLinkOutput, admin_link_data
from channels_api.schema import raises
from inventory.errors import InsufficientStock
from orders.links.qr import link_public_url, link_qr_svg
from orders.links.selectors import link_get, link_list, link_view
from orders.links.services import LinkLineInput, link_create, link_deactivate
from orders.models import ShopLink

TAGS = ["admin: links"]


class LinkLineRequest(serializers.Serializer):
    sku = serializers.CharField(max_length=64)
    quantity = serializers.IntegerField(
        min_value=1, max_value=settings.CART_MAX_QUANTITY, default=1
    )
    allotment = serializers.IntegerField(
        min_value=0, max_value=1_000_000, default=0, help_text="Units to ring-fence for the link."
    )


class LinkCreateInput(serializers.Serializer):
    channel = serializers.CharField(max_length=50)
    name = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    lines = serializers.ListField(
        child=LinkLineRequest(), min_length=1, max_length=settings.CART_MAX_LINES
    )
    campaign = serializers.DictField(
        child=serializers.CharField(max_length=500, allow_blank=True),
        required=False,
        default=dict,
        help_text="name, post, source, medium, content, term",
    )
    expires_at = serializers.DateTimeField(required=False, allow_null=True, default=None)
    allotment_until = serializers.DateTimeField(required=False, allow_null=True, default=None)
    usage_limit = serializers.IntegerField(
        min_value=1, max_value=COUNT_MAX, required=False, allow_null=True, default=None
    )
    voucher_code = serializers.CharField(
        max_length=50, required=False, allow_null=True, allow_blank=True, default=None
    )


class LinkAdminView(AdminView):
    pagination_class = None

    def link(self, code: str) -> ShopLink:
        link = link_get(code=code, scope=self.scope)
        if link is None:
            raise Http404
        return link

    def link_response(self, link: ShopLink, status_code: int = 200) -> Response:
        fresh = link_get(code=link.code)
        return Response(admin_link_data(link_view(link=fresh), self.request), status=status_code)


class LinkListView(LinkAdminView):
    pagination_class = AdminView.pagination_class
    serializer_class = AdminLinkOutput

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation: no key
            return ShopLink.objects.none()
        return link_list(scope=self.scope)

    @extend_schema(operation_id="admin_links_list", tags=TAGS)
    def get(self, request: Request) -> Response:
        """List shop links with their counters.

        Taps, carts and orders per link. Reads only.
        """
        links = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(
            [admin_link_data(link_view(link=link), request) for link in links]
        )

    @extend_schema(
        operation_id="admin_links_create",
        tags=TAGS,
        request=LinkCreateInput,
        responses={201: AdminLinkOutput},
    )
    @raises(InsufficientStock)
    @idempotent
    def post(self, request: Request) -> Response:
        """Create a shop link.

        A short `url` that opens a ready cart with these lines (for a post, a QR code, a message);
        `allotment` units are ring-fenced for the link at once (409 `insufficient_stock` when they
        are not there).
        """
        payload = LinkCreateInput(data=request.data)
        payload.is_valid(raise_exception=True)
        data = dict(payload.validated_data)
        channel = self.channel_for_write(data.pop("channel"))
        link = link_create(
            channel=channel,
            lines=[LinkLineInput(**line) for line in data.pop("lines")],
            actor=request.auth.actor,
            **data,
        )
        return self.link_response(link, status.HTTP_201_CREATED)


class LinkDetailView(LinkAdminView):
    @extend_schema(operation_id="admin_links_retrieve", tags=TAGS, responses={200: AdminLinkOutput})
    def get(self, request: Request, code: str) -> Response:
        """Get a shop link with its counters.

        Reads only.
        """
        return self.link_response(self.link(code))


class LinkDeactivateView(LinkAdminView):
    @extend_schema(
        operation_id="admin_links_deactivate",
        tags=TAGS,
        request=None,
        responses={200: AdminLinkOutput},
    )
    @idempotent
    def post(self, request: Request, code: str) -> Response:
        """Deactivate a shop link.

        It stops selling at once and its ring-fenced stock is released.
        """
        link = link_deactivate(link=self.link(code), actor=request.auth.actor)
        return self.link_response(link)


class LinkQrView(LinkAdminView):
    @extend_schema(
        operation_id="admin_links_qr",
        tags=TAGS,
        responses={(200, "image/svg+xml"): OpenApiResponse(description="The QR code (SVG).")},
    )
    def get(self, request: Request, code: str) -> HttpResponse:
        """Get a shop link's QR code (SVG).

        Reads only.
        """
        link = self.link(code)
        response = HttpResponse(
            link_qr_svg(link_public_url(request, link.code)), content_type="image/svg+xml"
        )
        response["Content-Disposition"] = f'inline; filename="link-{link.code}.svg"'
        return response
