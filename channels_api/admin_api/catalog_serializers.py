"""Admin serializers for channels and products (separate input and output shapes)."""

from __future__ import annotations

from django.conf import settings
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from catalog.models import Channel, Product, ProductVariant
from catalog.services import ListingInput, ProductInput, VariantInput
from channels_api.fields import AmountInput, MediaOutput, MoneyOutput, money


class ChannelOutput(serializers.ModelSerializer):
    class Meta:
        model = Channel
        fields = [
            "code",
            "name",
            "kind",
            "currency",
            "active",
            "reservation_ttl_seconds",
            "reservation_max_seconds",
            "created_at",
        ]


class ChannelInput(serializers.Serializer):
    code = serializers.RegexField(r"^[a-z0-9][a-z0-9_-]{0,49}$", max_length=50)
    name = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    kind = serializers.ChoiceField(choices=Channel.Kind.choices, default=Channel.Kind.WEB)
    currency = serializers.RegexField(r"^[A-Z]{3}$", default="USD")
    active = serializers.BooleanField(default=True)
    reservation_ttl_seconds = serializers.IntegerField(min_value=0, max_value=86400, required=False)
    reservation_max_seconds = serializers.IntegerField(
        min_value=0, max_value=604800, required=False
    )


class VariantOutput(serializers.ModelSerializer):
    price = serializers.SerializerMethodField()

    class Meta:
        model = ProductVariant
        fields = [
            "sku",
            "name",
            "options",
            "weight_grams",
            "price",
            "low_stock_threshold",
            "position",
        ]

    @extend_schema_field(MoneyOutput)
    def get_price(self, variant: ProductVariant) -> dict | None:
        return money(variant.price, settings.DEFAULT_CURRENCY)


class ProductOutput(serializers.ModelSerializer):
    id = serializers.CharField(read_only=True)
    category = serializers.CharField(source="category.slug", allow_null=True, read_only=True)
    variants = VariantOutput(many=True, read_only=True)
    listings = serializers.SerializerMethodField()
    media = MediaOutput(read_only=True)

    class Meta:
        model = Product
        fields = [
            "id",
            "slug",
            "name",
            "description",
            "category",
            "attributes",
            "media",
            "variants",
            "listings",
            "created_at",
            "updated_at",
        ]

    @extend_schema_field(serializers.ListField(child=serializers.DictField()))
    def get_listings(self, product: Product) -> list[dict]:
        limited = self.context.get("limited_channel")
        prices_by_channel: dict[int, dict[str, dict]] = {}
        for variant in product.variants.all():
            for price in variant.channel_prices.all():
                prices_by_channel.setdefault(price.channel_id, {})[variant.sku] = money(
                    price.price, price.channel.currency
                )
        return [
            {
                "channel": listing.channel.code,
                "published": listing.published,
                "prices": prices_by_channel.get(listing.channel_id, {}),
            }
            for listing in product.listings.all()
            if limited is None or listing.channel_id == limited.pk
        ]


class VariantInputSerializer(serializers.Serializer):
    sku = serializers.RegexField(r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,63}$", max_length=64)
    price = AmountInput(required=False)
    name = serializers.CharField(max_length=250, required=False, allow_blank=True)
    options = serializers.DictField(child=serializers.CharField(max_length=100), required=False)
    weight_grams = serializers.IntegerField(min_value=0, max_value=10_000_000, required=False)
    low_stock_threshold = serializers.IntegerField(min_value=0, max_value=1_000_000, required=False)
    position = serializers.IntegerField(min_value=0, max_value=10_000, required=False)


class ListingInputSerializer(serializers.Serializer):
    channel = serializers.CharField(max_length=50)
    published = serializers.BooleanField(default=True)
    prices = serializers.DictField(child=AmountInput(), required=False)


class ProductInputSerializer(serializers.Serializer):
    slug = serializers.SlugField(max_length=150)
    name = serializers.CharField(max_length=250)
    description = serializers.CharField(required=False, allow_blank=True, max_length=20000)
    category = serializers.SlugField(required=False, allow_null=True)
    attributes = serializers.DictField(required=False)
    media = serializers.ListField(
        child=serializers.URLField(max_length=500), required=False, max_length=50
    )
    variants = VariantInputSerializer(many=True, required=False, max_length=500)
    listings = ListingInputSerializer(many=True, required=False, max_length=100)

    def validate_variants(self, variants: list[dict]) -> list[dict]:
        skus = [variant["sku"] for variant in variants]
        if len(skus) != len(set(skus)):
            raise serializers.ValidationError("Each SKU may appear once.")
        return variants

    def to_product_input(self) -> ProductInput:
        data = dict(self.validated_data)
        variants = data.pop("variants", None)
        listings = data.pop("listings", None)
        category_given = "category" in data
        category = data.pop("category", None)
        return ProductInput(
            fields=data,
            category=category,
            category_given=category_given,
            variants=None if variants is None else [VariantInput(**item) for item in variants],
            listings=None if listings is None else [ListingInput(**item) for item in listings],
        )
