"""The providers that answer at once: `test` (a fake card gateway) and `manual`.

- `manual`: money taken outside the system (cash, card terminal, bank transfer);
  captured at once. `{"provider": "manual", "method": "cash"}`.
- `test`: a gateway for client developers. Tokens: `tok_approve` captures at once;
  `tok_authorize` only authorizes (capture later); `tok_decline` is declined (402
  `payment_declined`, no order, no held stock).

Both go through the same session path as Stripe (`orders.payments.checkout`): their
sessions are simply settled when opened.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from backoffice.exceptions import NotFound, ValidationFailed
from orders.errors import PaymentDeclined
from orders.payments.base import (
    AUTHORIZED,
    CANCELED,
    SUCCEEDED,
    SessionState,
    WebhookEvent,
)


class _AnswersAtOnce:
    """What both share: nothing to ask later, no webhooks, money moves on our word."""

    name = ""
    confirms_later = False
    calls_out = False

    def session_get(self, *, reference: str) -> SessionState:
        # Never open: its outcome was known when it was opened.
        return SessionState(status=SUCCEEDED, reference=reference)

    def session_cancel(self, *, reference: str, key: str) -> SessionState:
        return SessionState(status=CANCELED, reference=reference)

    def capture(self, *, reference: str, amount: Decimal, currency: str, key: str) -> None:
        return None

    def refund(self, *, reference: str, amount: Decimal, currency: str, key: str) -> str:
        return f"{self.name}_refund_{secrets.token_hex(6)}"

    def refund_find(self, *, reference: str, key: str) -> str | None:
        return None

    def webhook_event(self, *, payload: bytes, headers: Mapping[str, str]) -> WebhookEvent | None:
        raise NotFound(f"The {self.name} provider sends no webhooks.")


class ManualProvider(_AnswersAtOnce):
    name = "manual"
    METHODS = frozenset({"cash", "card_terminal", "bank_transfer", "other"})

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
        method = data.get("method") or "cash"
        if method not in self.METHODS:
            raise ValidationFailed(
                {"payment.method": [f"Use one of {', '.join(sorted(self.METHODS))}."]}
            )
        return SessionState(
            status=SUCCEEDED,
            reference=str(data.get("reference") or "")[:200],
            amount=amount,
            currency=currency,
            captured=amount,
            method=method,
        )


class TestGateway(_AnswersAtOnce):
    """A fake card gateway that answers by token, so clients can test both outcomes."""

    name = "test"
    APPROVE, AUTHORIZE, DECLINE = "tok_approve", "tok_authorize", "tok_decline"

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
        token = data.get("token")
        if token == self.DECLINE:
            raise PaymentDeclined("The test gateway declined the card (tok_decline).")
        if token not in (self.APPROVE, self.AUTHORIZE):
            raise ValidationFailed(
                {"payment.token": ["Use tok_approve, tok_authorize or tok_decline."]}
            )
        captured = token == self.APPROVE
        return SessionState(
            status=SUCCEEDED if captured else AUTHORIZED,
            reference=f"test_{secrets.token_hex(8)}",
            amount=amount,
            currency=currency,
            captured=amount if captured else Decimal(0),
        )
