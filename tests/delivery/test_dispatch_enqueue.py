"""A delivery's dispatch task is queued after its transaction commits, never on a rollback,
and carries the delivery's id as read at commit (`backoffice.jobs.enqueue_after_commit`
with `row`): a checkout's delivery row gets its id after the task is asked for."""

from __future__ import annotations

import pytest
from django.db import transaction

from backoffice import jobs, task_names
from catalog.models import Channel
from delivery.checkout import CheckoutPlanner
from delivery.models import Delivery
from orders.models import Order
from tests.delivery.conftest import delivery_of, order_of

pytestmark = pytest.mark.django_db


class Refused(Exception):
    pass


@pytest.fixture
def sent(monkeypatch) -> list[tuple]:
    """The tasks sent after each commit, with their arguments; none of them run."""
    calls: list[tuple] = []
    monkeypatch.setattr(
        jobs, "send_now", lambda name, *args, countdown=0: calls.append((name, *args))
    )
    return calls


def test_the_row_s_key_is_read_at_commit_and_nothing_is_sent_on_a_rollback(
    sent, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        row = Channel(code="late", name="Late", kind=Channel.Kind.WEB)
        jobs.enqueue_after_commit("tests.task", "extra", row=row)
        row.save()  # its key comes after the task was asked for
        assert sent == []
    assert sent == [("tests.task", row.pk, "extra")]

    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(Refused),
        transaction.atomic(),
    ):
        jobs.enqueue_after_commit("tests.task", row=row)
        raise Refused
    assert callbacks == [] and len(sent) == 1


def test_a_checkout_s_delivery_is_dispatched_after_commit_with_its_id(
    shop, sent, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        answer = shop.checkout()
    assert [name for name, *_ in sent] == []  # nothing before the commit
    delivery = delivery_of(answer)

    for callback in callbacks:
        callback()

    assert sent.count((task_names.DELIVERY_DISPATCH, delivery.pk)) == 1


def test_a_paid_order_s_delivery_is_not_dispatched_when_its_transaction_rolls_back(
    shop, sent, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        answer = shop.checkout()
    order = order_of(answer)
    sent.clear()

    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(Refused),
        transaction.atomic(),
    ):
        CheckoutPlanner().order_paid(order=order)
        raise Refused
    assert (callbacks, sent) == ([], [])

    with django_capture_on_commit_callbacks(execute=True):
        CheckoutPlanner().order_paid(order=Order.objects.get(pk=order.pk))
    assert sent == [(task_names.DELIVERY_DISPATCH, Delivery.objects.get().pk)]
