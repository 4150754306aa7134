"""The payment step of checkout: the PSP's answer, asked between two transactions.

Checkout (`orders.services.checkout`) holds the stock first, in a transaction of its own,
then calls `session_open` here with no transaction open and no row locked, then writes
the order with the answer. A refusal after the session was opened (the voucher used up
meanwhile, a concurrent completion of the same cart) calls `session_abandon`, again with
no transaction open: the session is cancelled, or its money given back.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from backoffice.exceptions import ValidationFailed
from orders.errors import PaymentProviderUnavailable
from orders.payments import PaymentProvider, provider_get
from orders.payments.base import (
    AUTHORIZED,
    CAPTURE_AUTOMATIC,
    CAPTURE_MANUAL,
    OPEN,
    SUCCEEDED,
    SessionState,
    outside_transaction,
)

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class OpenedSession:
    """A session the PSP opened for a checkout, and how it was asked for."""

    provider: PaymentProvider
    state: SessionState
    capture: str
    key: str = field(default_factory=lambda: uuid.uuid4().hex)

    @property
    def waits_for_customer(self) -> bool:
        return self.state.status == OPEN


def payment_provider_for(payment: object) -> tuple[PaymentProvider, str] | None:
    """The provider and capture method a checkout's `payment` asks for (None without one).

    Raises ValidationFailed for a payment that is not an object, an unknown provider or
    capture method. Reads nothing: safe to call before anything is held.
    """
    if payment is None:
        return None
    if not isinstance(payment, Mapping):
        raise ValidationFailed({"payment": ["Send an object."]})
    provider = provider_get(str(payment.get("provider") or ""))
    capture = str(payment.get("capture") or CAPTURE_AUTOMATIC)
    if capture not in (CAPTURE_AUTOMATIC, CAPTURE_MANUAL):
        raise ValidationFailed({"payment.capture": ["Use automatic or manual."]})
    return provider, capture


def session_open(
    *,
    provider: PaymentProvider,
    capture: str,
    amount: Decimal,
    currency: str,
    data: Mapping[str, Any],
    metadata: Mapping[str, str],
) -> OpenedSession:
    """Ask the PSP for a session for `amount` (the server's total, never the client's).

    Called with the stock already held and nothing locked: refuses to run inside a
    transaction. Raises PaymentDeclined, ValidationFailed, PaymentProviderUnavailable.
    """
    outside_transaction(provider, "opening a payment session")
    key = uuid.uuid4().hex
    state = provider.session_open(
        amount=amount, currency=currency, capture=capture, key=key, data=data, metadata=metadata
    )
    return OpenedSession(provider=provider, state=state, capture=capture, key=key)


def session_abandon(session: OpenedSession, *, amount: Decimal, currency: str) -> None:
    """The order was not placed after all: cancel the session, or give its money back.

    A PSP that does not answer now is logged: an open session nobody holds the client
    secret of cannot be paid, and reconciliation does not know it, so nothing waits on it.
    """
    state, provider = session.state, session.provider
    try:
        if state.status == SUCCEEDED:
            provider.refund(
                reference=state.reference, amount=amount, currency=currency, key=session.key
            )
        elif state.status in (OPEN, AUTHORIZED):
            provider.session_cancel(reference=state.reference, key=session.key)
    except PaymentProviderUnavailable:
        logger.error(
            "Could not give back %s payment session %s of an order not placed",
            provider.name,
            state.reference,
        )
