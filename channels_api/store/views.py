"""Store views for the catalog: products published in the key's channel."""

from __future__ import annotations

from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from catalog.models import Product
from catalog.selectors import channel_product_get, channel_product_list
from channels_api.permissions import IsPublishableKey
from channels_api.store.filters import StoreProductFilter
from channels_api.store.serializers import StoreProductOutput
from channels_api.views import ApiView
from inventory.available import channel_availability


class StoreView(ApiView):
    """Base for store endpoints: a publishable key, and its channel as `self.channel`."""

    permission_classes = [IsPublishableKey]

    @property
    def channel(self):
        return self.request.auth.channel

    def catalog_context(self, products: list[Product]) -> dict:
        variant_ids = [variant.pk for product in products for variant in product.variants.all()]
        return {
            "channel": self.channel,
            "request": self.request,
            "availability": channel_availability(channel=self.channel, variant_ids=variant_ids),
        }


class StoreProductListView(StoreView):
    filterset_class = StoreProductFilter
    serializer_class = StoreProductOutput

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation: no key, no channel
            return Product.objects.none()
        return channel_product_list(channel=self.channel)

    @extend_schema(operation_id="store_products_list", tags=["store"])
    def get(self, request: Request) -> Response:
        """List the products the channel sells.

        Published products with their variants, the channel's price and the units available now.
        `search` matches every word against name, description, category and SKUs. Reads only.
        """
        products = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        data = StoreProductOutput(products, many=True, context=self.catalog_context(products)).data
        return self.get_paginated_response(data)


class StoreProductDetailView(StoreView):
    serializer_class = StoreProductOutput
    pagination_class = None

    @extend_schema(operation_id="store_products_retrieve", tags=["store"])
    def get(self, request: Request, slug: str) -> Response:
        """Get one product by its slug.

        404 when the product is not published in this channel. Reads only.
        """
        product = channel_product_get(channel=self.channel, slug=slug)
        if product is None:
            raise Http404
        return Response(StoreProductOutput(product, context=self.catalog_context([product])).data)
