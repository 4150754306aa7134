"""The delivery app joins checkout through `orders.delivery_hook` when Django starts."""

from django.apps import AppConfig


class DeliveryConfig(AppConfig):
    name = "delivery"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from delivery.checkout import CheckoutPlanner
        from orders.delivery_hook import planner_register

        planner_register(CheckoutPlanner())
