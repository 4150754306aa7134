"""Payment providers behind one small interface: authorize, capture, void, refund.

- `manual`: money taken outside the system (cash, card terminal, bank transfer);
  recorded as captured at once. `{"provider": "manual", "method": "cash"}`.
- `test`: a gateway for client developers. Tokens:
  `tok_approve` captures at once; `tok_authorize` only authorizes (capture later);
  `tok_decline` is declined (402 `payment_declined`, no order, no held stock).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol

from backoffice.exceptions import ValidationFailed
from orders.errors import PaymentDeclined


@dataclass(frozen=True)
class Authorization:
    captured: bool
    reference: str
    method: str


class PaymentProvider(Protocol):
    name: str

    def authorize(self, *, amount: Decimal, currency: str, data: dict[str, Any]) -> Authorization:
        """Authorize (and possibly capture) `amount`; raise PaymentDeclined when refused."""

    def capture(self, *, reference: str, amount: Decimal) -> None: ...

    def void(self, *, reference: str) -> None: ...

    def refund(self, *, reference: str, amount: Decimal) -> str:
        """Refund part or all of what was captured; returns the refund's reference."""


class ManualProvider:
    name = "manual"
    METHODS = {"cash", "card_terminal", "bank_transfer", "other"}

    def authorize(self, *, amount: Decimal, currency: str, data: dict[str, Any]) -> Authorization:
        method = data.get("method") or "cash"
        if method not in self.METHODS:
            raise ValidationFailed(
                {"payment.method": [f"Use one of {', '.join(sorted(self.METHODS))}."]}
            )
        return Authorization(
            captured=True, reference=str(data.get("reference") or "")[:200], method=method
        )

    def capture(self, *, reference: str, amount: Decimal) -> None:
        return None

    def void(self, *, reference: str) -> None:
        return None

    def refund(self, *, reference: str, amount: Decimal) -> str:
        return f"manual-refund-{secrets.token_hex(6)}"


class TestGateway:
    """A fake card gateway that answers by token, so clients can test both outcomes."""

    name = "test"
    APPROVE, AUTHORIZE, DECLINE = "tok_approve", "tok_authorize", "tok_decline"

    def authorize(self, *, amount: Decimal, currency: str, data: dict[str, Any]) -> Authorization:
        token = data.get("token")
        if token == self.DECLINE:
            raise PaymentDeclined("The test gateway declined the card (tok_decline).")
        if token not in (self.APPROVE, self.AUTHORIZE):
            raise ValidationFailed(
                {"payment.token": ["Use tok_approve, tok_authorize or tok_decline."]}
            )
        return Authorization(
            captured=token == self.APPROVE,
            reference=f"test_{secrets.token_hex(8)}",
            method="card",
        )

    def capture(self, *, reference: str, amount: Decimal) -> None:
        return None

    def void(self, *, reference: str) -> None:
        return None

    def refund(self, *, reference: str, amount: Decimal) -> str:
        return f"test_refund_{secrets.token_hex(6)}"


PROVIDERS: dict[str, PaymentProvider] = {
    provider.name: provider for provider in (ManualProvider(), TestGateway())
}


def provider_get(name: str) -> PaymentProvider:
    provider = PROVIDERS.get(name)
    if provider is None:
        raise ValidationFailed(
            {"payment.provider": [f"Use one of {', '.join(sorted(PROVIDERS))}."]}
        )
    return provider
