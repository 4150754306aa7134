"""Store serializers for the catalog: products at the channel's price and availability."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from catalog.models import ProductVariant
from catalog.sellable import price_in_channel
from channels_api.fields import MediaOutput, MoneyOutput, money


class StoreVariantOutput(serializers.Serializer):
    sku = serializers.CharField()
    name = serializers.CharField()
    options = serializers.DictField()
    weight_grams = serializers.IntegerField(allow_null=True)
    price = serializers.SerializerMethodField()
    available = serializers.SerializerMethodField()
    in_stock = serializers.SerializerMethodField()

    @extend_schema_field(MoneyOutput)
    def get_price(self, variant: ProductVariant) -> dict | None:
        channel = self.context["channel"]
        return money(price_in_channel(variant=variant, channel=channel), channel.currency)

    def get_available(self, variant: ProductVariant) -> int:
        return self.context["availability"].get(variant.pk, 0)

    def get_in_stock(self, variant: ProductVariant) -> bool:
        return self.get_available(variant) > 0


class StoreProductOutput(serializers.Serializer):
    id = serializers.CharField()
    slug = serializers.CharField()
    name = serializers.CharField()
    description = serializers.CharField()
    category = serializers.CharField(source="category.slug", allow_null=True, read_only=True)
    attributes = serializers.DictField()
    media = MediaOutput()
    variants = StoreVariantOutput(many=True)
