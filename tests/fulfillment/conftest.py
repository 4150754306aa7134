"""Fulfillment fixtures reuse the checkout shop and the real-worker fixtures of the outbox."""

from tests.orders.conftest import shop, web_api  # noqa: F401
from tests.outbox.conftest import (  # noqa: F401
    make_receiver,
    published,
    receiver,
    start_celery,
    test_broker,
)
