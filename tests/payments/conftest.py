"""Fixtures for the payment tests: Stripe pointed at localstripe, a shop that sells."""

from __future__ import annotations

import pytest

from tests.orders.conftest import shop, web_api  # noqa: F401
from tests.payments.stripe_helpers import API_KEY, WEBHOOK_SECRET, localstripe_base


@pytest.fixture
def stripe_on(settings):
    """The Stripe provider configured against the suite's localstripe."""
    settings.STRIPE_API_KEY = API_KEY
    settings.STRIPE_API_BASE = localstripe_base()
    settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET
    settings.PAYMENT_GATEWAY_TIMEOUT_SECONDS = 10
    return settings
