"""Query filters for store listings."""

from __future__ import annotations

import django_filters

from catalog.models import Product
from catalog.selectors import product_filter_category, product_search


class StoreProductFilter(django_filters.FilterSet):
    search = django_filters.CharFilter(
        method="filter_search", max_length=200, help_text="Free text: every word must match."
    )
    category = django_filters.CharFilter(
        method="filter_category",
        max_length=100,
        help_text="Category slug; includes sub-categories.",
    )
    sku = django_filters.CharFilter(
        field_name="variants__sku", lookup_expr="iexact", distinct=True, max_length=64
    )

    class Meta:
        model = Product
        fields: list[str] = []

    def filter_search(self, queryset, name, value):
        return product_search(queryset, value)

    def filter_category(self, queryset, name, value):
        return product_filter_category(queryset, value)
