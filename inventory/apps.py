"""App config for inventory."""

from django.apps import AppConfig
from django.db.models.signals import post_migrate


class InventoryConfig(AppConfig):
    name = "inventory"
    verbose_name = "Inventory"

    def ready(self) -> None:
        from backoffice.versions.registry import watch
        from inventory.stock_functions import stock_functions_install

        # The checkout's calls under the stock rows (PostgreSQL functions), after every
        # `migrate`: a test database is built without migrations, a flush keeps them.
        post_migrate.connect(
            stock_functions_install, sender=self, dispatch_uid="inventory-stock-functions"
        )

        # What a channel can sell: the store's cached product pages depend on it. The stock
        # rows and the holds are counted per product instead (`catalog.stock_versions`).
        for model in ("Warehouse", "WarehouseChannel"):
            watch("stock", f"inventory.{model}")
