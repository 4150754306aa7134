"""Without a broker (`make run`), jobs run in-process right after the commit that queued them."""

from __future__ import annotations

import pytest
from django.core import mail

from fulfillment.models import Fulfillment
from orders.models import Order
from tests.factories import SHIPPING_ADDRESS

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_paid_order_is_planned_and_emailed_in_process(no_broker, web_api, shop):
    response = web_api.post(
        "/api/v1/store/checkout",
        {
            "lines": [{"sku": "TEE", "quantity": 1}],
            "email": "ada@example.com",
            "shipping_address": SHIPPING_ADDRESS,
            "payment": {"provider": "test", "token": "tok_approve"},
        },
    )

    assert response.status_code == 201, response.json()
    order = Order.objects.get(pk=int(response.json()["id"]))
    assert Fulfillment.objects.filter(order=order).count() == 1
    assert [message.to for message in mail.outbox] == [["ada@example.com"]]
