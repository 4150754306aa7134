"""Django admin for channels and the catalog."""

from django.contrib import admin

from backoffice.admin_scope import ScopedAdmin, ScopedTabularInline
from catalog.models import Category, Channel, ChannelPrice, Product, ProductListing, ProductVariant


@admin.register(Channel)
class ChannelAdmin(ScopedAdmin):
    list_display = ["code", "name", "kind", "currency", "active", "reservation_ttl_seconds"]
    list_filter = ["kind", "active", "currency"]
    search_fields = ["code", "name"]


@admin.register(Category)
class CategoryAdmin(ScopedAdmin):
    list_display = ["name", "slug", "parent"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}


class VariantInline(ScopedTabularInline):
    model = ProductVariant
    extra = 0
    fields = ["sku", "name", "options", "price", "weight_grams", "low_stock_threshold", "position"]


class ListingInline(ScopedTabularInline):
    model = ProductListing
    extra = 0


@admin.register(Product)
class ProductAdmin(ScopedAdmin):
    list_display = ["name", "slug", "category", "updated_at"]
    list_filter = ["category", "listings__channel", "listings__published"]
    search_fields = ["name", "slug", "variants__sku"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [VariantInline, ListingInline]
    list_select_related = ["category"]


@admin.register(ChannelPrice)
class ChannelPriceAdmin(ScopedAdmin):
    list_display = ["variant", "channel", "price"]
    list_filter = ["channel"]
    search_fields = ["variant__sku"]
    autocomplete_fields = ["variant"]
    list_select_related = ["variant", "channel"]


@admin.register(ProductVariant)
class ProductVariantAdmin(ScopedAdmin):
    list_display = ["sku", "product", "name", "price"]
    search_fields = ["sku", "name", "product__name"]
    list_select_related = ["product"]
