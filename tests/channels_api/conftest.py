"""The API tests reuse the real-worker fixtures of the outbox (key-expiry reminders)."""

from tests.outbox.conftest import (  # noqa: F401
    make_receiver,
    receiver,
    start_celery,
    test_broker,
)
