"""Delivery tasks: load by id, call one service, safe to run twice (acknowledged late)."""

from __future__ import annotations

from celery import shared_task

from backoffice import task_names
from delivery.dispatch import (
    courier_dispatch,
    deliveries_dispatch_sweep,
    delivery_dispatch,
    offer_expire,
)
from delivery.privacy import delivery_locations_erase
from delivery.providers import delivery_provider_cancel, delivery_provider_create


@shared_task(name=task_names.DELIVERY_DISPATCH)
def delivery_dispatch_task(delivery_id: int) -> bool:
    return delivery_dispatch(delivery_id=delivery_id) is not None


@shared_task(name=task_names.DELIVERY_OFFER_EXPIRE)
def delivery_offer_expire_task(offer_id: int) -> bool:
    return offer_expire(offer_id=offer_id)


@shared_task(name=task_names.COURIER_DISPATCH)
def courier_dispatch_task(courier_id: int) -> bool:
    return courier_dispatch(courier_id=courier_id) is not None


@shared_task(name=task_names.DELIVERIES_DISPATCH_SWEEP)
def deliveries_dispatch_sweep_task() -> dict[str, int]:
    return deliveries_dispatch_sweep()


@shared_task(name=task_names.DELIVERY_LOCATIONS_ERASE)
def delivery_locations_erase_task() -> int:
    return delivery_locations_erase()


@shared_task(name=task_names.DELIVERY_PROVIDER_CREATE, autoretry_for=(OSError,), retry_backoff=True)
def delivery_provider_create_task(delivery_id: int) -> str:
    return delivery_provider_create(delivery_id=delivery_id)


@shared_task(name=task_names.DELIVERY_PROVIDER_CANCEL, autoretry_for=(OSError,), retry_backoff=True)
def delivery_provider_cancel_task(delivery_id: int) -> None:
    delivery_provider_cancel(delivery_id=delivery_id)
