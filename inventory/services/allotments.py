"""Allotments: stock ring-fenced for one holder (a shop link), and units moved out of it.

An allotment is a set of Reservation rows held by e.g. "link:<code>" that expire when
the allotment ends; since reservations are subtracted from availability, no other
holder can take those units meanwhile. `allotment_transfer` moves units from such a
hold to another holder (a cart) with the discipline of `inventory.services`: the
StockLevel rows are locked with one `SELECT ... FOR UPDATE ORDER BY id`
(`inventory.locks`) and the decision is taken on the holds read under that lock.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime

from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from backoffice.exceptions import ValidationFailed
from catalog.models import Channel
from inventory.errors import InsufficientStock
from inventory.hold_active import hold_active_q, hold_is_active
from inventory.locks import stock_levels_lock_by_id
from inventory.models import Reservation
from inventory.services.holds import reserved_units_add, stock_reserve
from inventory.services.placement import StockLine, lines_merge


def allotment_reserve(
    *, channel: Channel, holder: str, lines: Iterable[StockLine], until: datetime
) -> list[Reservation]:
    """Ring-fence units in the channel's warehouses for `holder` until `until`.

    All lines or none: raises InsufficientStock when the units are not available now.
    """
    seconds = math.ceil((until - timezone.now()).total_seconds())
    if seconds <= 0:
        raise ValidationFailed({"allotment_until": ["Must be in the future."]})
    with transaction.atomic():
        stock_reserve(channel=channel, holder=holder, lines=list(lines), ttl_seconds=seconds)
        # The hold ends exactly when the allotment does, not a rounded TTL later.
        Reservation.objects.filter(holder=holder).update(expires_at=until)
        return list(Reservation.objects.filter(holder=holder).order_by("id"))


def allotment_remaining(*, holder: str) -> dict[int, int]:
    """Units the holder still has ring-fenced, by variant id (active holds only; one query)."""
    rows = (
        Reservation.objects.filter(hold_active_q(), holder=holder)
        .values("stock_level__variant_id")
        .annotate(total=Sum("quantity"))
    )
    return {row["stock_level__variant_id"]: row["total"] for row in rows}


def allotment_transfer(
    *, source: str, target: str, lines: Iterable[StockLine], expires_at: datetime
) -> list[Reservation]:
    """Move units from `source`'s active holds to `target`'s, held until `expires_at`.

    All lines or none: raises InsufficientStock with, per short SKU, what the source
    still holds as `available`. The units never become free in between, so no
    other checkout can take them.
    """
    wanted = lines_merge(lines)
    now = timezone.now()
    with transaction.atomic():
        level_ids = Reservation.objects.filter(
            holder=source, stock_level__variant_id__in=list(wanted)
        ).values("stock_level_id")
        levels = stock_levels_lock_by_id(level_ids)
        # Read again under the locks: a concurrent transfer may have taken units meanwhile.
        holds: dict[int, list[Reservation]] = defaultdict(list)
        for hold in Reservation.objects.filter(
            hold_active_q(now), holder=source, stock_level_id__in=list(levels)
        ).order_by("stock_level_id"):
            holds[levels[hold.stock_level_id].variant_id].append(hold)
        short = [
            {
                "sku": line.variant.sku,
                "requested": line.quantity,
                "available": sum(hold.quantity for hold in holds[variant_id]),
            }
            for variant_id, line in wanted.items()
            if sum(hold.quantity for hold in holds[variant_id]) < line.quantity
        ]
        if short:
            raise InsufficientStock(short)
        existing = {
            hold.stock_level_id: hold
            for hold in Reservation.objects.filter(holder=target, stock_level_id__in=list(levels))
        }
        moved: dict[int, int] = defaultdict(int)
        result = []
        for variant_id, line in wanted.items():
            remaining = line.quantity
            for hold in holds[variant_id]:
                take = min(hold.quantity, remaining)
                if not take:
                    break
                remaining -= take
                if take < hold.quantity:
                    hold.quantity -= take
                    hold.save(update_fields=["quantity"])
                elif hold.stock_level_id not in existing:
                    # The whole hold becomes the target's: its row handed over, an update
                    # (which the product's stock version counts: its expiry moves) where a
                    # delete and an insert of as many units would change no stock row.
                    hold.holder, hold.expires_at, hold.created_at = target, expires_at, now
                    hold.save(update_fields=["holder", "expires_at", "created_at"])
                    result.append(hold)
                    continue
                else:
                    hold.delete()
                moved[hold.stock_level_id] += take
        # Moved units stay on their levels; only an expired target hold started afresh
        # takes its old units off the level's counter.
        dropped: dict[int, int] = {}
        for level_id, quantity in moved.items():
            hold = existing.get(level_id)
            if hold is None:
                hold = Reservation(stock_level_id=level_id, holder=target, quantity=0)
            elif not hold_is_active(hold, now):
                dropped[level_id] = -hold.quantity
                hold.quantity = 0  # an expired hold no longer counts: start afresh
            hold.quantity += quantity
            hold.expires_at = expires_at
            hold.save()
            result.append(hold)
        reserved_units_add(dropped)
    return result
