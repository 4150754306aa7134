"""Courier positions are personal data: kept while the delivery is active, then erased.

The last known position leaves the delivery the moment it ends (delivered or cancelled);
the track (DeliveryLocation rows) and the coordinates of location shares in the order's
thread are erased DELIVERY_LOCATION_RETENTION_DAYS after it ended, by an hourly beat job,
in batches.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from delivery.models import Delivery, DeliveryLocation
from orders.models import OrderMessage

ERASED = {"erased": True}


def delivery_locations_erase(*, now: datetime | None = None, batch: int = 200) -> int:
    """Erase the track of deliveries that ended long enough ago; returns how many deliveries."""
    now = now or timezone.now()
    cutoff = now - timedelta(days=settings.DELIVERY_LOCATION_RETENTION_DAYS)
    erased = 0
    while True:
        ids = list(
            Delivery.objects.filter(ended_at__lte=cutoff, locations_erased_at__isnull=True)
            .order_by("id")
            .values_list("pk", "order_id")[:batch]
        )
        if not ids:
            return erased
        delivery_ids = [pk for pk, _ in ids]
        with transaction.atomic():
            DeliveryLocation.objects.filter(delivery_id__in=delivery_ids).delete()
            OrderMessage.objects.filter(
                order_id__in=[order_id for _, order_id in ids], kind=OrderMessage.Kind.LOCATION
            ).update(data=ERASED)
            Delivery.objects.filter(pk__in=delivery_ids).update(
                courier_latitude=None,
                courier_longitude=None,
                courier_located_at=None,
                locations_erased_at=now,
            )
        erased += len(ids)
