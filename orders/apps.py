"""App config for orders."""

from django.apps import AppConfig


class OrdersConfig(AppConfig):
    name = "orders"

    def ready(self) -> None:
        from backoffice.versions.registry import watch

        # Shipping methods are cached per process (`orders.services.validation`).
        watch("shipping", "orders.ShippingMethod")
