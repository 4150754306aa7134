"""Payments: providers behind one interface, sessions the PSP settles, money moved by key.

- `base`: the interface (`PaymentProvider`, `SessionState`, `WebhookEvent`);
- `local`: `test` and `manual`, which answer at once; `stripe`: PaymentIntents;
- `checkout`: the session step of checkout (stock held, gateway called outside any
  transaction, the order written after the answer);
- `settlement`: the PSP's answer (webhook, client confirm, reconciliation) applied once;
- `operations`: captures, refunds and cancels asked of the PSP with idempotency keys.

docs/payments.md has the lifecycle and how to add a provider.
"""

from __future__ import annotations

from backoffice.exceptions import ValidationFailed
from orders.payments.base import PaymentProvider, SessionState, WebhookEvent
from orders.payments.local import ManualProvider, TestGateway
from orders.payments.stripe import StripeProvider

PROVIDERS: dict[str, PaymentProvider] = {
    provider.name: provider for provider in (ManualProvider(), TestGateway(), StripeProvider())
}


def provider_get(name: str) -> PaymentProvider:
    """The provider called `name`; ValidationFailed (field `payment.provider`) otherwise."""
    provider = PROVIDERS.get(name)
    if provider is None:
        raise ValidationFailed(
            {"payment.provider": [f"Use one of {', '.join(sorted(PROVIDERS))}."]}
        )
    return provider


__all__ = [
    "PROVIDERS",
    "ManualProvider",
    "PaymentProvider",
    "SessionState",
    "TestGateway",
    "WebhookEvent",
    "provider_get",
]
