"""The name of every Celery task: one constant each, imported by the task and by its callers.

A task is registered under its constant (`@shared_task(name=...)`), and whoever queues it
by name (`backoffice.jobs.enqueue_after_commit`, the beat schedule in settings) imports
the same constant. So a lower app can queue a higher app's task without importing it
(orders queues fulfillment's), and renaming or moving a task breaks at import, not in a
worker that receives a message nobody answers. The names are stable: they are what
messages waiting in the broker carry, so change one only with the queues drained.
"""

from __future__ import annotations

# backoffice.versions.tasks
DATA_VERSIONS_COMPACT = "versions.compact"
# backoffice.outbox.tasks
OUTBOX_DISPATCH = "outbox.dispatch"
WEBHOOK_DELIVER = "outbox.webhook_deliver"
# channels_api.tasks
RETENTION_PURGE = "retention.purge"
API_KEYS_WARN_EXPIRING = "api_keys.warn_expiring"
# inventory.tasks
RESERVATIONS_PURGE_EXPIRED = "inventory.reservations_purge_expired"
ALLOCATIONS_SWEEP_ORPHANED = "inventory.allocations_sweep_orphaned"
# orders.tasks
ORDERS_CANCEL_STALE_UNPAID = "orders.cancel_stale_unpaid"
PAYMENTS_RECONCILE = "orders.payments_reconcile"
# fulfillment.tasks
ORDER_PLACED = "fulfillment.order_placed"
FULFILLMENTS_PLAN = "fulfillment.plan"
FULFILLMENTS_PLAN_SWEEP = "fulfillment.plan_sweep"
NOTIFY_CUSTOMER = "fulfillment.notify_customer"
ORDER_COMPLETE_IF_DELIVERED = "fulfillment.complete_if_delivered"
# delivery.tasks
DELIVERY_DISPATCH = "delivery.dispatch"
DELIVERY_OFFER_EXPIRE = "delivery.offer_expire"
COURIER_DISPATCH = "delivery.courier_dispatch"
DELIVERIES_DISPATCH_SWEEP = "delivery.dispatch_sweep"
DELIVERY_LOCATIONS_ERASE = "delivery.locations_erase"
DELIVERY_PROVIDER_CREATE = "delivery.provider_create"
DELIVERY_PROVIDER_CANCEL = "delivery.provider_cancel"
