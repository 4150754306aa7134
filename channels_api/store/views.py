"""Store views for the catalog: products published in the key's channel."""

from __future__ import annotations

from datetime import datetime

from django.http import Http404, HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.request import Request

from catalog.models import Product
from catalog.selectors import channel_product_get, channel_product_list
from channels_api.permissions import IsPublishableKey
from channels_api.store.browse_cache import browse_answer
from channels_api.store.filters import StoreProductFilter
from channels_api.store.serializers import StoreProductOutput
from channels_api.views import ApiView
from inventory.available import channel_availability_until


class StoreView(ApiView):
    """Base for store endpoints: a publishable key, and its channel as `self.channel`."""

    permission_classes = [IsPublishableKey]

    @property
    def channel(self):
        return self.request.auth.channel

    def catalog_context(self, products: list[Product]) -> tuple[dict, datetime | None]:
        """The serializers' context, and the moment its availability next changes by itself."""
        variant_ids = [variant.pk for product in products for variant in product.variants.all()]
        availability, valid_until = channel_availability_until(
            channel=self.channel, variant_ids=variant_ids
        )
        context = {"channel": self.channel, "request": self.request, "availability": availability}
        return context, valid_until


# Conditional requests: the cached answer's ETag (`channels_api.store.browse_cache`).
IF_NONE_MATCH = OpenApiParameter(
    "If-None-Match",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    description="The `ETag` of an answer you hold: 304 without a body while it is current.",
)
NOT_MODIFIED = OpenApiResponse(description="Not modified: the answer you hold is current.")


class StoreProductListView(StoreView):
    filterset_class = StoreProductFilter
    serializer_class = StoreProductOutput

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation: no key, no channel
            return Product.objects.none()
        return channel_product_list(channel=self.channel)

    @extend_schema(
        operation_id="store_products_list",
        tags=["store"],
        parameters=[IF_NONE_MATCH],
        responses={200: StoreProductOutput(many=True), 304: NOT_MODIFIED},
    )
    def get(self, request: Request) -> HttpResponse:
        """List the products the channel sells.

        Published products with their variants, the channel's price and the units available now.
        `search` matches every word against name, description, category and SKUs. Reads only.
        Answers carry an `ETag` and come from a cache that every change to prices, listings
        or stock updates at once.
        """
        return browse_answer(request, self.channel, self._page)

    def _page(self) -> tuple[dict, datetime | None]:
        products = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        context, valid_until = self.catalog_context(products)
        data = StoreProductOutput(products, many=True, context=context).data
        return self.get_paginated_response(data).data, valid_until


class StoreProductDetailView(StoreView):
    serializer_class = StoreProductOutput
    pagination_class = None

    @extend_schema(
        operation_id="store_products_retrieve",
        tags=["store"],
        parameters=[IF_NONE_MATCH],
        responses={200: StoreProductOutput, 304: NOT_MODIFIED},
    )
    def get(self, request: Request, slug: str) -> HttpResponse:
        """Get one product by its slug.

        404 when the product is not published in this channel. Reads only. Answers carry an
        `ETag` and come from a cache that every change to prices, listings or stock updates
        at once.
        """

        def page() -> tuple[dict, datetime | None]:
            product = channel_product_get(channel=self.channel, slug=slug)
            if product is None:
                raise Http404
            context, valid_until = self.catalog_context([product])
            return StoreProductOutput(product, context=context).data, valid_until

        return browse_answer(request, self.channel, page)
