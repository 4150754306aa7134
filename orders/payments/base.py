"""The payment provider interface: sessions the PSP settles, and money movements by key.

A provider opens a *session* for an amount the server computed (never the client's),
and tells its state when asked (`session_get`) or in a signed webhook
(`webhook_event`). Captures, refunds and cancels carry an idempotency key that the
provider hands to its PSP, so asking again after a lost answer never moves money
twice. No method here is called inside a database transaction or under a row lock:
the services in `orders.payments` call them between their transactions.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol

from django.db import connection

# What a session can be, in our words (each provider maps its PSP's states onto these).
OPEN = "open"  # waiting for the customer (3-D Secure, a wallet, a retry after a decline)
AUTHORIZED = "authorized"  # the money is held; a capture takes it
SUCCEEDED = "succeeded"  # the money is taken
CANCELED = "canceled"  # the session is over without money

CAPTURE_AUTOMATIC, CAPTURE_MANUAL = "automatic", "manual"


@dataclass(frozen=True)
class SessionState:
    """What the PSP says about one session now."""

    status: str
    reference: str
    amount: Decimal | None = None
    currency: str = ""
    captured: Decimal = Decimal(0)
    client_secret: str = ""
    method: str = "card"
    # Why the last attempt failed (a declined card), while the session stays open.
    error: str = ""
    # The PSP's own name for its state (e.g. Stripe's requires_capture), for the order page.
    psp_status: str = ""


@dataclass(frozen=True)
class WebhookEvent:
    """A verified PSP event about a session (`reference`), with the session's state in it."""

    id: str
    type: str
    reference: str
    state: SessionState | None
    # Money the PSP says was refunded on the session in all (charge.refunded), if it says.
    refunded: Decimal | None = None


def outside_transaction(provider: PaymentProvider, what: str) -> None:
    """Refuse to call a PSP over the network inside a database transaction.

    A slow PSP would hold every row the transaction locked (stock of a hot SKU) for as long
    as it takes. Providers that answer in-process (`test`, `manual`) may be called anywhere;
    a test's own wrapping transaction (pytest-django) does not count.
    """
    if provider.calls_out and any(not block._from_testcase for block in connection.atomic_blocks):
        raise RuntimeError(f"{what} ({provider.name}) inside a database transaction")


class PaymentProvider(Protocol):
    name: str
    # Whether its sessions may stay open after checkout (the customer confirms with the PSP).
    confirms_later: bool
    # Whether it talks to a PSP over the network (never inside a transaction, then).
    calls_out: bool

    def session_open(
        self,
        *,
        amount: Decimal,
        currency: str,
        capture: str,
        key: str,
        data: Mapping[str, Any],
        metadata: Mapping[str, str],
    ) -> SessionState:
        """Open a session for `amount`; raise PaymentDeclined, ValidationFailed (bad `data`)
        or PaymentProviderUnavailable. `key` makes a repeated open return the same session."""

    def session_get(self, *, reference: str) -> SessionState: ...

    def session_cancel(self, *, reference: str, key: str) -> SessionState:
        """End an open or authorized session without money; returns its state after (which
        may be SUCCEEDED when the customer paid meanwhile)."""

    def capture(self, *, reference: str, amount: Decimal, currency: str, key: str) -> None:
        """Take `amount` (all or part) of an authorized session."""

    def refund(self, *, reference: str, amount: Decimal, currency: str, key: str) -> str:
        """Give `amount` back; returns the refund's reference."""

    def refund_find(self, *, reference: str, key: str) -> str | None:
        """The refund already made with `key`, if any (asked before a retry)."""

    def webhook_event(self, *, payload: bytes, headers: Mapping[str, str]) -> WebhookEvent | None:
        """Verify and read a webhook (WebhookSignatureInvalid when it is not the PSP's);
        None for an event type that says nothing about a session."""
