"""Delivery tasks: load by id, call one service, safe to run twice (acknowledged late)."""

from __future__ import annotations

from celery import shared_task

from delivery import jobs
from delivery.dispatch import (
    courier_dispatch,
    deliveries_dispatch_sweep,
    delivery_dispatch,
    offer_expire,
)
from delivery.privacy import delivery_locations_erase
from delivery.providers import delivery_provider_cancel, delivery_provider_create


@shared_task(name=jobs.DISPATCH_TASK)
def delivery_dispatch_task(delivery_id: int) -> bool:
    return delivery_dispatch(delivery_id=delivery_id) is not None


@shared_task(name=jobs.OFFER_EXPIRE_TASK)
def delivery_offer_expire_task(offer_id: int) -> bool:
    return offer_expire(offer_id=offer_id)


@shared_task(name=jobs.COURIER_DISPATCH_TASK)
def courier_dispatch_task(courier_id: int) -> bool:
    return courier_dispatch(courier_id=courier_id) is not None


@shared_task(name=jobs.SWEEP_TASK)
def deliveries_dispatch_sweep_task() -> dict[str, int]:
    return deliveries_dispatch_sweep()


@shared_task(name=jobs.ERASE_TASK)
def delivery_locations_erase_task() -> int:
    return delivery_locations_erase()


@shared_task(name=jobs.PROVIDER_CREATE_TASK, autoretry_for=(OSError,), retry_backoff=True)
def delivery_provider_create_task(delivery_id: int) -> str:
    return delivery_provider_create(delivery_id=delivery_id)


@shared_task(name=jobs.PROVIDER_CANCEL_TASK, autoretry_for=(OSError,), retry_backoff=True)
def delivery_provider_cancel_task(delivery_id: int) -> None:
    delivery_provider_cancel(delivery_id=delivery_id)
