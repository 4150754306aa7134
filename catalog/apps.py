"""App config for the catalog."""

from django.apps import AppConfig


class CatalogConfig(AppConfig):
    name = "catalog"
    verbose_name = "Catalog and channels"

    def ready(self) -> None:
        from backoffice.versions.registry import watch

        # Cached per process (keys with their channel, tax settings) and in the store's
        # product pages: every change is counted (backoffice/versions).
        watch("channels", "catalog.Channel", ignore=("updated_at",))
        for model in ("Category", "Product", "ProductImage", "ProductVariant"):
            watch("catalog", f"catalog.{model}", ignore=("updated_at",))
        watch("catalog", "catalog.ProductListing")
        watch("catalog", "catalog.ChannelPrice")
        # A product's stock, per product (`catalog.stock_versions`): a sale of one product
        # leaves the others' cached pages valid.
        from catalog.stock_versions import stock_versions_watch

        stock_versions_watch()
