"""Store views for the catalog: products published in the key's channel."""

from __future__ import annotations

from datetime import datetime

from django.http import Http404, HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.request import Request

from catalog.models import Product
from catalog.selectors import channel_product_get, channel_product_list
from catalog.stock_versions import product_stock_version_want, products_stock_versions
from channels_api.permissions import IsPublishableKey
from channels_api.store.browse_cache import Built, browse_answer
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

    def catalog_context(
        self, products: list[Product], *, stamp: bool = False
    ) -> tuple[dict, datetime | None, dict[int, int]]:
        """The serializers' context, the moment its availability next changes by itself, and
        with `stamp` the products' stock versions, read just before their availability."""
        variant_ids = [variant.pk for product in products for variant in product.variants.all()]
        stock = products_stock_versions([product.pk for product in products]) if stamp else {}
        availability, valid_until = channel_availability_until(
            channel=self.channel, variant_ids=variant_ids
        )
        context = {"channel": self.channel, "request": self.request, "availability": availability}
        return context, valid_until, stock


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

    def _page(self) -> Built:
        products = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        context, valid_until, stock = self.catalog_context(products, stamp=True)
        data = StoreProductOutput(products, many=True, context=context).data
        return self.get_paginated_response(data).data, valid_until, stock


class StoreProductDetailView(StoreView):
    serializer_class = StoreProductOutput
    pagination_class = None

    def initial(self, request, *args, **kwargs) -> None:
        # Before the key is authenticated (which reads the versions): the product's stock
        # version is read in the same statement, for its page's cache key.
        slug = str(kwargs.get("slug", ""))
        if "\x00" not in slug:  # else a 404 (`ApiView.initial`), with nothing read
            product_stock_version_want(slug)
        super().initial(request, *args, **kwargs)

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

        def page() -> Built:
            product = channel_product_get(channel=self.channel, slug=slug)
            if product is None:
                raise Http404
            context, valid_until, _ = self.catalog_context([product])
            return StoreProductOutput(product, context=context).data, valid_until, {}

        return browse_answer(request, self.channel, page)
