"""App config for inventory."""

from django.apps import AppConfig


class InventoryConfig(AppConfig):
    name = "inventory"
    verbose_name = "Inventory"

    def ready(self) -> None:
        from backoffice.versions.registry import watch

        # What a channel can sell: the store's cached product pages depend on it. The stock
        # rows and the holds are counted per product instead (`catalog.stock_versions`).
        for model in ("Warehouse", "WarehouseChannel"):
            watch("stock", f"inventory.{model}")
