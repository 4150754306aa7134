"""Fulfillment errors, each with a stable code."""

from __future__ import annotations

from backoffice.exceptions import DomainError


class NothingToFulfill(DomainError):
    code = "nothing_to_fulfill"
    status = 409
    title = "Every unit of this order is already in a fulfillment."


class OrderNotShippable(DomainError):
    """The order ships goods but has no complete shipping address (`orders.delivery`)."""

    code = "order_not_shippable"
    status = 409
    title = "This order cannot be shipped until its shipping address is complete."

    def __init__(self, problem: str) -> None:
        super().__init__(problem, errors={"shipping_address": [problem]})
