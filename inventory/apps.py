"""App config for inventory."""

from django.apps import AppConfig


class InventoryConfig(AppConfig):
    name = "inventory"
    verbose_name = "Inventory"

    def ready(self) -> None:
        from backoffice.versions.registry import watch

        # What a channel can sell: the store's cached product pages depend on it. The stock
        # rows are counted per product instead (`catalog.stock_versions`); a hold's row
        # changes its stock row's `reserved_units` in the same statement, so it is counted
        # there.
        for model in ("Warehouse", "WarehouseChannel"):
            watch("stock", f"inventory.{model}")
