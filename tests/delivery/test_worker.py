"""Dispatch on real Celery workers (Redis, PostgreSQL): the offer goes out after commit,
times out by its countdown task and goes to the next courier; a worker killed while it
holds the countdown loses nothing, the beat sweep takes over."""

from __future__ import annotations

import pytest

from delivery.models import DeliveryOffer
from delivery.tasks import deliveries_dispatch_sweep_task
from tests.delivery.conftest import delivery_of
from tests.outbox.conftest import wait_until

pytestmark = pytest.mark.django_db(transaction=True)

WORKER_ENV = {
    "DELIVERY_OFFER_SECONDS": "2",
    "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
}


def pending_offer(delivery):
    return DeliveryOffer.objects.filter(delivery=delivery, status="pending").first()


def test_an_unanswered_offer_times_out_on_the_worker_and_goes_to_the_next_courier(
    shop, test_broker, start_celery, settings
):
    settings.DELIVERY_OFFER_SECONDS = 2
    sam, _ = shop.courier("Sam")
    kim, _ = shop.courier("Kim")
    start_celery("worker", test_broker, **WORKER_ENV)

    delivery = delivery_of(shop.checkout())

    first = wait_until(lambda: pending_offer(delivery))
    assert first.courier == sam
    wait_until(lambda: (o := pending_offer(delivery)) and o.courier == kim and o)
    first.refresh_from_db()
    assert first.status == "expired"
    assert DeliveryOffer.objects.filter(delivery=delivery).count() == 2


def test_a_worker_killed_holding_the_countdown_loses_nothing_and_doubles_nothing(
    shop, test_broker, start_celery, settings
):
    settings.DELIVERY_OFFER_SECONDS = 2
    sam, _ = shop.courier("Sam")
    kim, _ = shop.courier("Kim")
    first_worker = start_celery("worker", test_broker, **WORKER_ENV)
    delivery = delivery_of(shop.checkout())
    first = wait_until(lambda: pending_offer(delivery))

    first_worker.kill()  # it held the offer's countdown message, unacknowledged
    start_celery("worker", test_broker, **WORKER_ENV)

    def caught_up():
        deliveries_dispatch_sweep_task.delay()  # what beat does every few seconds
        offer = pending_offer(delivery)
        return offer if offer and offer.courier == kim else None

    wait_until(caught_up, timeout=30, step=1.0)
    first.refresh_from_db()
    assert first.status == "expired"
    assert first.courier == sam
    # Offered to Kim once, however many sweeps ran.
    assert DeliveryOffer.objects.filter(delivery=delivery, courier=kim).count() == 1
