"""Admin views for channels and products."""

from __future__ import annotations

import django_filters
from django.http import Http404
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from backoffice.ids import is_id
from catalog.models import Channel, Product
from catalog.selectors import channel_list, product_list_admin, product_search
from catalog.services import channel_create, product_create, product_delete, product_update
from channels_api.admin_api.base import AdminView
from channels_api.admin_api.catalog_serializers import (
    ChannelInput,
    ChannelOutput,
    ProductInputSerializer,
    ProductOutput,
)
from channels_api.idempotency import idempotent


class ChannelFilter(django_filters.FilterSet):
    kind = django_filters.ChoiceFilter(choices=Channel.Kind.choices)
    active = django_filters.BooleanFilter()

    class Meta:
        model = Channel
        fields: list[str] = []


class ChannelListView(AdminView):
    serializer_class = ChannelOutput
    filterset_class = ChannelFilter

    def get_queryset(self):
        channels = channel_list()
        if self.limited_channel is not None:
            channels = channels.filter(pk=self.limited_channel.pk)
        return channels

    @extend_schema(operation_id="admin_channels_list", tags=["admin: catalog"])
    def get(self, request: Request) -> Response:
        """List sales channels.

        A key limited to one channel sees only that one. Reads only.
        """
        channels = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(ChannelOutput(channels, many=True).data)

    @extend_schema(
        operation_id="admin_channels_create",
        tags=["admin: catalog"],
        request=ChannelInput,
        responses={201: ChannelOutput},
    )
    @idempotent
    def post(self, request: Request) -> Response:
        """Create a sales channel.

        A web store, Instagram shop, chatbot, till or marketplace, with its currency. Needs a key
        not limited to one channel. Create its publishable key with `manage.py create_api_key`.
        """
        self.require_unrestricted()
        payload = ChannelInput(data=request.data)
        payload.is_valid(raise_exception=True)
        channel = channel_create(**payload.validated_data, actor=request.auth.actor)
        return Response(ChannelOutput(channel).data, status=status.HTTP_201_CREATED)


class ProductFilter(django_filters.FilterSet):
    search = django_filters.CharFilter(method="filter_search", max_length=200)
    category = django_filters.CharFilter(field_name="category__slug")
    sku = django_filters.CharFilter(field_name="variants__sku", lookup_expr="iexact", distinct=True)
    channel = django_filters.CharFilter(method="filter_channel", max_length=50)

    class Meta:
        model = Product
        fields: list[str] = []

    def filter_search(self, queryset, name, value):
        return product_search(queryset, value)

    def filter_channel(self, queryset, name, value):
        """Products listed in that channel; a channel-limited key knows no other channel's."""
        limited = getattr(self.request.auth, "channel", None)
        if limited is not None and value != limited.code:
            return queryset.none()
        return queryset.filter(listings__channel__code=value).distinct()


class ProductViewMixin:
    """A channel-limited key sees only its channel's catalog: other products do not exist."""

    serializer_class = ProductOutput

    def get_queryset(self):
        return product_list_admin(scope=self.scope)

    def output(self, product: Product) -> dict:
        return ProductOutput(
            product, context={"limited_channel": self.limited_channel, "request": self.request}
        ).data


class ProductListView(ProductViewMixin, AdminView):
    filterset_class = ProductFilter

    @extend_schema(operation_id="admin_products_list", tags=["admin: catalog"])
    def get(self, request: Request) -> Response:
        """List products with their variants and channel listings.

        Filter by `search`, `category`, `sku` or `channel`. Reads only.
        """
        products = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        data = ProductOutput(
            products,
            many=True,
            context={"limited_channel": self.limited_channel, "request": self.request},
        ).data
        return self.get_paginated_response(data)

    @extend_schema(
        operation_id="admin_products_create",
        tags=["admin: catalog"],
        request=ProductInputSerializer,
        responses={201: ProductOutput},
    )
    @idempotent
    def post(self, request: Request) -> Response:
        """Create a product with its variants and channel listings.

        Variant prices are in the default currency; a listing publishes the product in a channel,
        optionally at its own prices. Needs a key not limited to one channel.
        """
        self.require_unrestricted()
        payload = ProductInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        product = product_create(data=payload.to_product_input(), actor=request.auth.actor)
        product = self.get_queryset().get(pk=product.pk)
        return Response(self.output(product), status=status.HTTP_201_CREATED)


class ProductDetailView(ProductViewMixin, AdminView):
    pagination_class = None

    def get_object(self, pk: str) -> Product:
        if not is_id(pk):
            raise Http404
        return get_object_or_404(self.get_queryset(), pk=int(pk))

    @extend_schema(operation_id="admin_products_retrieve", tags=["admin: catalog"])
    def get(self, request: Request, pk: str) -> Response:
        """Get a product by id.

        Reads only.
        """
        return Response(self.output(self.get_object(pk)))

    @extend_schema(
        operation_id="admin_products_update",
        tags=["admin: catalog"],
        request=ProductInputSerializer,
        responses={200: ProductOutput},
    )
    def patch(self, request: Request, pk: str) -> Response:
        """Change a product, its variants or listings.

        Only the fields sent change; variants and listings given are matched by SKU and channel.
        Needs a key not limited to one channel.
        """
        self.require_unrestricted()
        product = self.get_object(pk)
        payload = ProductInputSerializer(data=request.data, partial=True)
        payload.is_valid(raise_exception=True)
        product_update(product=product, data=payload.to_product_input(), actor=request.auth.actor)
        return Response(self.output(self.get_object(pk)))

    @extend_schema(
        operation_id="admin_products_destroy", tags=["admin: catalog"], responses={204: None}
    )
    def delete(self, request: Request, pk: str) -> Response:
        """Delete a product.

        Refused (400) while any of its variants has stock records: unpublish it instead. Needs a key
        not limited to one channel.
        """
        self.require_unrestricted()
        product_delete(product=self.get_object(pk), actor=request.auth.actor)
        return Response(status=status.HTTP_204_NO_CONTENT)
