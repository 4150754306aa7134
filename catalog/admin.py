"""Django admin for channels and the catalog."""

from django.contrib import admin

from catalog.models import Category, Channel, ChannelPrice, Product, ProductListing, ProductVariant


@admin.register(Channel)
class ChannelAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "kind", "currency", "active", "reservation_ttl_seconds"]
    list_filter = ["kind", "active", "currency"]
    search_fields = ["code", "name"]


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "parent"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}


class VariantInline(admin.TabularInline):
    model = ProductVariant
    extra = 0
    fields = ["sku", "name", "options", "price", "weight_grams", "low_stock_threshold", "position"]


class ListingInline(admin.TabularInline):
    model = ProductListing
    extra = 0


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "category", "updated_at"]
    list_filter = ["category", "listings__channel", "listings__published"]
    search_fields = ["name", "slug", "variants__sku"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [VariantInline, ListingInline]
    list_select_related = ["category"]


@admin.register(ChannelPrice)
class ChannelPriceAdmin(admin.ModelAdmin):
    list_display = ["variant", "channel", "price"]
    list_filter = ["channel"]
    search_fields = ["variant__sku"]
    autocomplete_fields = ["variant"]
    list_select_related = ["variant", "channel"]


@admin.register(ProductVariant)
class ProductVariantAdmin(admin.ModelAdmin):
    list_display = ["sku", "product", "name", "price"]
    search_fields = ["sku", "name", "product__name"]
    list_select_related = ["product"]
