"""Orders errors, each with a stable code."""

from __future__ import annotations

from backoffice.exceptions import DomainError


class PaymentDeclined(DomainError):
    code = "payment_declined"
    status = 402
    title = "The payment was declined."


class CartCompleted(DomainError):
    code = "cart_completed"
    status = 409
    title = "This cart has already become an order."


class VoucherUnavailable(DomainError):
    """The voucher ran out of uses (or expired) between applying it and placing the order."""

    code = "voucher_unavailable"
    status = 409
    title = "The voucher can no longer be used."


class RefundExceedsCaptured(DomainError):
    code = "refund_exceeds_captured"
    status = 409
    title = "A refund cannot exceed what was captured."


class LinkExpired(DomainError):
    code = "link_expired"
    status = 410
    title = "This shop link has expired."


class LinkInactive(DomainError):
    code = "link_inactive"
    status = 410
    title = "This shop link is no longer active."


class LinkUsedUp(DomainError):
    """The link reached its usage limit (orders placed through it)."""

    code = "link_used_up"
    status = 410
    title = "This shop link has been used as often as it may be."


class PaymentProviderUnavailable(DomainError):
    """The PSP did not answer (a timeout, a network error) or answered with an error of its own.

    Nothing was placed or moved on our side; where the PSP may have acted, the operation
    stays pending and is asked about again (reconciliation), never repeated blindly.
    """

    code = "payment_provider_unavailable"
    status = 503
    title = "The payment provider could not be reached; try again shortly."


class WebhookSignatureInvalid(DomainError):
    code = "invalid_signature"
    status = 400
    title = "The webhook's signature does not match its body."
