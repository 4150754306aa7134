"""Fulfillment errors, each with a stable code."""

from __future__ import annotations

from backoffice.exceptions import DomainError


class NothingToFulfill(DomainError):
    code = "nothing_to_fulfill"
    status = 409
    title = "Every unit of this order is already in a fulfillment."
