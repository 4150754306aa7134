"""The Stripe provider: PaymentIntents on the official `stripe` library.

A session is a PaymentIntent for the order's total in the currency's minor units (ISO
4217, `backoffice.money`), with automatic or manual capture; the customer's client
confirms it with Stripe.js using its `client_secret`. Every call that creates or moves
money carries an idempotency key, and a retried refund first looks for the refund the
lost answer was about (its metadata carries our key). Settings: STRIPE_API_KEY,
STRIPE_WEBHOOK_SECRET, STRIPE_API_BASE (a local stand-in such as localstripe),
PAYMENT_GATEWAY_TIMEOUT_SECONDS. The library never retries on its own: a retry is ours,
with the same key.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from decimal import Decimal
from functools import lru_cache
from typing import Any

import stripe
from django.conf import settings

from backoffice.exceptions import ValidationFailed
from backoffice.money import from_minor_units, to_minor_units
from backoffice.text import unstorable_string_at
from orders.errors import PaymentDeclined, PaymentProviderUnavailable, WebhookSignatureInvalid
from orders.payments.base import (
    AUTHORIZED,
    CANCELED,
    CAPTURE_AUTOMATIC,
    CAPTURE_MANUAL,
    OPEN,
    SUCCEEDED,
    SessionState,
    WebhookEvent,
)

logger = logging.getLogger(__name__)

# Stripe's PaymentIntent states, in our words.
STATES = {
    "requires_payment_method": OPEN,
    "requires_confirmation": OPEN,
    "requires_action": OPEN,
    "processing": OPEN,
    "requires_capture": AUTHORIZED,
    "succeeded": SUCCEEDED,
    "canceled": CANCELED,
}
# The webhook types that say something about a session (charge.refunded: refunds made
# outside Backoffice, e.g. in Stripe's dashboard).
INTENT_EVENTS = frozenset(
    {
        "payment_intent.succeeded",
        "payment_intent.amount_capturable_updated",
        "payment_intent.payment_failed",
        "payment_intent.canceled",
        "payment_intent.processing",
    }
)
KEY_METADATA = "backoffice_key"


@lru_cache(maxsize=4)
def _client(api_key: str, api_base: str, timeout: int) -> stripe.StripeClient:
    return stripe.StripeClient(
        api_key,
        base_addresses={"api": api_base} if api_base else None,
        http_client=stripe.RequestsClient(timeout=timeout),
        max_network_retries=0,
    )


def _value(obj: Any, name: str, default: Any = None) -> Any:
    data = obj if isinstance(obj, dict) else obj.to_dict()
    return data.get(name, default)


def intent_state(intent: Any) -> SessionState:
    """A PaymentIntent (the library's object, or an event's dict) as a SessionState."""
    intent = intent if isinstance(intent, dict) else intent.to_dict()
    currency = str(intent.get("currency") or "").upper()
    psp_status = str(intent.get("status") or "")
    status = STATES.get(psp_status, OPEN)
    amount = from_minor_units(intent["amount"], currency) if intent.get("amount") else None
    received = intent.get("amount_received")
    if received is not None:
        captured = from_minor_units(received, currency)
    else:  # not every Stripe stand-in says; a succeeded intent took its amount
        captured = amount if status == SUCCEEDED and amount is not None else Decimal(0)
    error = intent.get("last_payment_error") or {}
    return SessionState(
        status=status,
        reference=str(intent.get("id") or ""),
        amount=amount,
        currency=currency,
        captured=captured,
        client_secret=str(intent.get("client_secret") or ""),
        error=str(error.get("message") or "") if isinstance(error, dict) else "",
        psp_status=psp_status,
    )


class StripeProvider:
    name = "stripe"
    confirms_later = True
    calls_out = True

    @property
    def client(self) -> stripe.StripeClient:
        if not settings.STRIPE_API_KEY:
            raise ValidationFailed({"payment.provider": ["Stripe is not configured here."]})
        return _client(
            settings.STRIPE_API_KEY,
            settings.STRIPE_API_BASE,
            settings.PAYMENT_GATEWAY_TIMEOUT_SECONDS,
        )

    def _call(self, what: str, function, *args, **kwargs) -> Any:
        """One Stripe call; its failures in our words (the card's, or Stripe not answering)."""
        try:
            return function(*args, **kwargs)
        except stripe.CardError as error:
            raise PaymentDeclined(error.user_message or "The card was declined.") from error
        except (stripe.APIConnectionError, stripe.RateLimitError, stripe.APIError) as error:
            logger.warning("Stripe did not answer (%s): %s", what, error)
            raise PaymentProviderUnavailable() from error
        except stripe.StripeError as error:
            logger.error("Stripe refused %s: %s", what, error)
            raise PaymentProviderUnavailable(
                "The payment provider refused the request; staff have been told."
            ) from error

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
        if capture not in (CAPTURE_AUTOMATIC, CAPTURE_MANUAL):
            raise ValidationFailed({"payment.capture": ["Use automatic or manual."]})
        intent = self._call(
            "creating a PaymentIntent",
            self.client.v1.payment_intents.create,
            params={
                "amount": to_minor_units(amount, currency),
                "currency": currency.lower(),
                "capture_method": capture,
                "payment_method_types": ["card"],
                "metadata": {**metadata, KEY_METADATA: key},
            },
            options={"idempotency_key": f"session-{key}"},
        )
        return intent_state(intent)

    def session_get(self, *, reference: str) -> SessionState:
        intent = self._call(
            "reading a PaymentIntent", self.client.v1.payment_intents.retrieve, reference
        )
        return intent_state(intent)

    def session_cancel(self, *, reference: str, key: str) -> SessionState:
        try:
            intent = self.client.v1.payment_intents.cancel(
                reference, options={"idempotency_key": f"cancel-{key}"}
            )
        except stripe.InvalidRequestError:
            # Not cancellable any more (paid meanwhile, or already canceled): say what it is.
            return self.session_get(reference=reference)
        except stripe.StripeError:
            return self._call("canceling a PaymentIntent", self.session_get, reference=reference)
        return intent_state(intent)

    def capture(self, *, reference: str, amount: Decimal, currency: str, key: str) -> None:
        self._call(
            "capturing a PaymentIntent",
            self.client.v1.payment_intents.capture,
            reference,
            params={"amount_to_capture": to_minor_units(amount, currency)},
            options={"idempotency_key": f"capture-{key}"},
        )

    def refund(self, *, reference: str, amount: Decimal, currency: str, key: str) -> str:
        refund = self._call(
            "creating a refund",
            self.client.v1.refunds.create,
            params={
                "payment_intent": reference,
                "amount": to_minor_units(amount, currency),
                "metadata": {KEY_METADATA: key},
            },
            options={"idempotency_key": f"refund-{key}"},
        )
        return str(_value(refund, "id"))

    def refund_find(self, *, reference: str, key: str) -> str | None:
        refunds = self._call(
            "listing refunds",
            self.client.v1.refunds.list,
            params={"payment_intent": reference, "limit": 100},
        )
        for refund in _value(refunds, "data", []):
            if (_value(refund, "metadata") or {}).get(KEY_METADATA) == key:
                return str(_value(refund, "id"))
        return None

    def webhook_event(self, *, payload: bytes, headers: Mapping[str, str]) -> WebhookEvent | None:
        secret = settings.STRIPE_WEBHOOK_SECRET
        signature = headers.get("Stripe-Signature", "")
        if not secret:
            raise WebhookSignatureInvalid("No STRIPE_WEBHOOK_SECRET is set to check it with.")
        try:
            stripe.WebhookSignature.verify_header(
                payload.decode("utf-8", "replace"),
                signature,
                secret,
                settings.STRIPE_WEBHOOK_TOLERANCE_SECONDS,
            )
            event = json.loads(payload)
            if unstorable_string_at(event) is not None:
                raise ValueError("a NUL or a lone surrogate in the event")
            event_type, event_id = str(event["type"]), str(event["id"])
            obj = event["data"]["object"]
            return _webhook_event(event_type, event_id, obj)
        except stripe.SignatureVerificationError as error:
            raise WebhookSignatureInvalid(str(error)) from error
        except (ValueError, KeyError, TypeError, ArithmeticError, RecursionError) as error:
            # Signed, but not an event we can read (nested past the parser's depth, an amount
            # that is not a whole number, money without its currency, a string no column
            # can store): refused, nothing done.
            raise WebhookSignatureInvalid("The body is not a Stripe event.") from error


def _webhook_event(event_type: str, event_id: str, obj: object) -> WebhookEvent | None:
    """The event a Stripe webhook's object means, None for one we do not act on; raises
    ValueError (or TypeError, OverflowError) for an object that is not what Stripe sends."""
    if not isinstance(obj, dict):
        return None
    if event_type in INTENT_EVENTS:
        return WebhookEvent(
            id=event_id, type=event_type, reference=str(obj.get("id")), state=intent_state(obj)
        )
    if event_type == "charge.refunded" and obj.get("payment_intent"):
        currency = str(obj.get("currency") or "").upper()
        return WebhookEvent(
            id=event_id,
            type=event_type,
            reference=str(obj["payment_intent"]),
            state=None,
            refunded=from_minor_units(obj.get("amount_refunded") or 0, currency),
        )
    return None
