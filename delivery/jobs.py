"""Names of the delivery tasks: the constants both the senders and `delivery.tasks` use."""

DISPATCH_TASK = "delivery.tasks.delivery_dispatch_task"
OFFER_EXPIRE_TASK = "delivery.tasks.delivery_offer_expire_task"
COURIER_DISPATCH_TASK = "delivery.tasks.courier_dispatch_task"
SWEEP_TASK = "delivery.tasks.deliveries_dispatch_sweep_task"
ERASE_TASK = "delivery.tasks.delivery_locations_erase_task"
PROVIDER_CREATE_TASK = "delivery.tasks.delivery_provider_create_task"
PROVIDER_CANCEL_TASK = "delivery.tasks.delivery_provider_cancel_task"
