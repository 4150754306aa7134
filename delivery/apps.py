"""The delivery app joins checkout through `orders.delivery_hook` when Django starts."""

from django.apps import AppConfig


class DeliveryConfig(AppConfig):
    name = "delivery"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from backoffice.versions.registry import watch
        from delivery.checkout import CheckoutPlanner
        from orders.delivery_hook import planner_register

        planner_register(CheckoutPlanner())
        # Which zones serve a channel (`delivery.zones.channel_zones_cached`): the zones,
        # and the warehouses and routes that `channel_zones` joins.
        for model in ("delivery.DeliveryZone", "inventory.Warehouse", "inventory.WarehouseChannel"):
            watch("zones", model)
