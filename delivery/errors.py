"""Delivery errors, each with a stable code."""

from __future__ import annotations

from backoffice.exceptions import DomainError


class OutsideDeliveryArea(DomainError):
    code = "outside_delivery_area"
    status = 422
    title = "No delivery zone serves this address."


class BelowDeliveryMinimum(DomainError):
    """`minimum` (money) is what the zone needs before it delivers."""

    code = "below_delivery_minimum"
    status = 422
    title = "The order is below the delivery zone's minimum."


class DeliveryClosed(DomainError):
    """The store does not deliver now; `opens_at` is when it does next (null: not this week)."""

    code = "delivery_closed"
    status = 409
    title = "The store does not deliver at this time."


class DeliverySlotUnavailable(DomainError):
    code = "delivery_slot_unavailable"
    status = 422
    title = "This delivery slot does not serve this address or has started."


class DeliverySlotFull(DomainError):
    code = "delivery_slot_full"
    status = 409
    title = "This delivery slot is fully booked."


class OfferUnavailable(DomainError):
    """The offer expired, was withdrawn or was already answered."""

    code = "offer_unavailable"
    status = 409
    title = "This delivery offer is no longer open."


class CourierBusy(DomainError):
    code = "courier_busy"
    status = 409
    title = "The courier is on another delivery."


class WrongPin(DomainError):
    """`attempts_left` says how many tries remain before PIN entry is locked."""

    code = "wrong_pin"
    status = 422
    title = "The delivery PIN does not match."


class PinLocked(DomainError):
    code = "pin_locked"
    status = 409
    title = "Too many wrong PINs: complete the delivery with a photo or ask the shop."


class ProofRequired(DomainError):
    code = "proof_required"
    status = 422
    title = "This delivery needs a proof the zone accepts (a PIN or a photo)."


class NoActiveDelivery(DomainError):
    code = "no_active_delivery"
    status = 409
    title = "Locations are taken only while the courier is on this delivery."
