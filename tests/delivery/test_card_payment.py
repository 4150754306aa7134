"""An on-demand delivery paid by card: no courier goes out before the payment does."""

from __future__ import annotations

import pytest
from django.utils import timezone

from backoffice import jobs, task_names
from delivery.dispatch import deliveries_dispatch_sweep
from delivery.models import Delivery
from orders.models import Order
from orders.services import payments_reconcile
from tests.delivery.conftest import delivery_of
from tests.payments.conftest import stripe_on  # noqa: F401 (a fixture)
from tests.payments.stripe_helpers import customer_pays
from tests.payments.test_stripe_checkout import intent_of

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("stripe_on")]


@pytest.fixture
def sent(monkeypatch) -> list[str]:
    """The tasks sent after each commit (their names), none of them run."""
    names: list[str] = []
    monkeypatch.setattr(jobs, "send_now", lambda name, *args, countdown=0: names.append(name))
    return names


def test_the_courier_is_sent_once_the_card_payment_confirms_the_order(
    shop, sent, django_capture_on_commit_callbacks
):
    shop.courier()
    with django_capture_on_commit_callbacks(execute=True):
        order = shop.checkout(payment={"provider": "stripe"})
    assert order["status"] == "pending_payment"
    assert delivery_of(order).status == Delivery.Status.QUEUED
    assert task_names.DELIVERY_DISPATCH not in sent  # unpaid: no courier offered yet
    assert deliveries_dispatch_sweep()["offered"] == 0  # nor by the beat's sweep

    customer_pays(intent_of(order))
    with django_capture_on_commit_callbacks(execute=True):
        confirm = shop.api.post(f"/api/v1/store/orders/{order['token']}/payment/confirm")
    assert confirm.status_code == 200, confirm.json()

    assert Order.objects.get(pk=order["id"]).status == Order.Status.CONFIRMED
    assert sent.count(task_names.DELIVERY_DISPATCH) == 1
    assert deliveries_dispatch_sweep()["offered"] == 1  # (the task is not run here)


def test_an_unpaid_on_demand_order_expires_with_its_delivery_never_sent(
    shop, sent, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        order = shop.checkout(payment={"provider": "stripe"})
    Order.objects.filter(pk=order["id"]).update(payment_due_at=timezone.now())

    with django_capture_on_commit_callbacks(execute=True):
        assert payments_reconcile() == {"expired": 1}

    assert Order.objects.get(pk=order["id"]).status == Order.Status.CANCELLED
    assert delivery_of(order).status == Delivery.Status.CANCELLED
    assert task_names.DELIVERY_DISPATCH not in sent
