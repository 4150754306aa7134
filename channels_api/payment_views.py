"""The PSPs' webhook endpoint: `POST /api/v1/payments/{provider}/webhook` (e.g. `stripe`).

No API key: the PSP signs each event (Stripe: `Stripe-Signature` with the endpoint
secret, STRIPE_WEBHOOK_SECRET), and the body is verified as sent, byte for byte, before
anything is read from it. Any verified event is answered 200 so the PSP stops retrying,
including those about sessions that are not ours (they change nothing).
"""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from backoffice.exceptions import NotFound
from channels_api.permissions import SignedByPaymentProvider
from channels_api.schema import raises
from channels_api.views import ApiView
from orders import services
from orders.errors import WebhookSignatureInvalid

TAGS = ["payments"]


class WebhookReceiptOutput(serializers.Serializer):
    received = serializers.BooleanField()
    outcome = serializers.CharField(
        help_text="What the event changed: e.g. `paid`, `authorized`, `expired`, `duplicate`, "
        "`unchanged`, `ignored` (not about one of our sessions)."
    )


class PaymentWebhookView(ApiView):
    authentication_classes: list = []
    permission_classes = [SignedByPaymentProvider]
    throttle_classes: list = []
    pagination_class = None

    @extend_schema(
        operation_id="payments_webhook",
        tags=TAGS,
        request=None,
        responses={200: WebhookReceiptOutput},
    )
    @raises(WebhookSignatureInvalid, NotFound)
    def post(self, request: Request, provider: str) -> Response:
        """Receive a payment provider's event.

        For the PSP, not for channels: Stripe sends PaymentIntent events here
        (`payment_intent.succeeded`, `payment_intent.amount_capturable_updated`,
        `payment_intent.payment_failed`, `payment_intent.canceled`, `charge.refunded`). The
        signature is checked against the raw body; 400 `invalid_signature` changes nothing. A
        session's first report confirms (or expires) its order; a second report, from the webhook
        or the customer's confirm, changes nothing. Events about other sessions: 200, ignored.
        """
        if provider != "stripe":
            raise NotFound("No webhooks for this payment provider.")
        outcome = services.payment_webhook_receive(
            provider=provider, payload=request.body, headers=request.headers
        )
        return Response({"received": True, "outcome": outcome})
