"""Django admin for channels and the catalog.

The product page itself (variants, channel prices, listings, opening stock, pictures on
one page) is added by `inventory.admin`, which also knows stock.
"""

from django.conf import settings
from django.contrib import admin
from django.db.models import Count, Max, Min
from django.urls import reverse
from django.utils.html import format_html

from backoffice.admin_scope import ScopedAdmin
from backoffice.money import money_format
from catalog.models import Category, Channel, ChannelPrice, Product, ProductVariant


@admin.register(Channel)
class ChannelAdmin(ScopedAdmin):
    list_display = ["name", "code", "kind", "currency", "active", "storefront"]
    list_filter = ["kind", "active", "currency"]
    search_fields = ["code", "name"]

    @admin.display(description="storefront")
    def storefront(self, channel: Channel) -> str:
        if not channel.storefront_url:
            return "-"
        return format_html('<a href="{}" rel="noreferrer">{}</a>', channel.storefront_url, "Open")


@admin.register(Category)
class CategoryAdmin(ScopedAdmin):
    list_display = ["name", "slug", "parent"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}


@admin.register(Product)
class ProductAdmin(ScopedAdmin):
    list_display = ["name", "category", "variant_count", "prices", "sold_in", "updated_at"]
    list_filter = ["category", "listings__channel", "listings__published"]
    search_fields = ["name", "slug", "variants__sku"]
    list_select_related = ["category"]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(
                variant_total=Count("variants", distinct=True),
                lowest=Min("variants__price"),
                highest=Max("variants__price"),
            )
            .prefetch_related("listings__channel")
        )

    @admin.display(description="variants", ordering="variant_total")
    def variant_count(self, product: Product) -> int:
        return product.variant_total

    @admin.display(description=f"base price ({settings.DEFAULT_CURRENCY})", ordering="lowest")
    def prices(self, product: Product) -> str:
        if product.lowest is None:
            return "-"
        low = money_format(product.lowest, settings.DEFAULT_CURRENCY)
        if product.highest == product.lowest:
            return low
        return f"{low} to {money_format(product.highest, settings.DEFAULT_CURRENCY)}"

    @admin.display(description="sold in")
    def sold_in(self, product: Product) -> str:
        names = [lst.channel.name for lst in product.listings.all() if lst.published]
        return ", ".join(sorted(names)) or "nowhere yet"


@admin.register(ChannelPrice)
class ChannelPriceAdmin(ScopedAdmin):
    list_display = ["variant", "channel", "amount"]
    list_filter = ["channel"]
    search_fields = ["variant__sku"]
    autocomplete_fields = ["variant"]
    list_select_related = ["variant", "channel"]

    @admin.display(description="price", ordering="price")
    def amount(self, price: ChannelPrice) -> str:
        return money_format(price.price, price.channel.currency)


@admin.register(ProductVariant)
class ProductVariantAdmin(ScopedAdmin):
    list_display = ["sku", "product", "name", "base_price", "stock"]
    search_fields = ["sku", "name", "product__name"]
    list_select_related = ["product"]
    readonly_fields = ["product", "sku"]
    fields = ["product", "sku", "name", "weight_grams", "low_stock_threshold", "position"]

    def has_add_permission(self, request) -> bool:
        return False  # variants are added on their product's page

    @admin.display(description=f"base price ({settings.DEFAULT_CURRENCY})", ordering="price")
    def base_price(self, variant: ProductVariant) -> str:
        return money_format(variant.price, settings.DEFAULT_CURRENCY)

    @admin.display(description="stock")
    def stock(self, variant: ProductVariant) -> str:
        levels = reverse("admin:inventory_stocklevel_changelist")
        ledger = reverse("admin:inventory_stockmovement_changelist")
        return format_html(
            '<a href="{}?q={}">Stock</a> · <a href="{}?sku={}">Ledger</a>',
            levels,
            variant.sku,
            ledger,
            variant.sku,
        )
