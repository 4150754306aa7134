"""A local stand-in of a third-party fleet: a DeliveryProvider that books into a list."""

from __future__ import annotations

from decimal import Decimal

from delivery.models import Delivery, DeliveryZone
from delivery.providers import ProviderQuote

BOOKED: list[dict] = []
CANCELLED: list[str] = []


class StandInFleet:
    name = "fleet"

    def quote(self, *, zone: DeliveryZone, dropoff: dict, order_value: Decimal) -> ProviderQuote:
        return ProviderQuote(fee=Decimal("6.50"), minutes=35)

    def create(self, *, delivery: Delivery) -> str:
        # The fleet books by our reference once, however often it is asked (its idempotency).
        external = f"fleet-{delivery.pk}"
        if external not in [booking["id"] for booking in BOOKED]:
            BOOKED.append({"id": external, "pickup": delivery.zone.warehouse.code})
        return external

    def cancel(self, *, delivery: Delivery) -> None:
        CANCELLED.append(delivery.external_id)
