"""The rule "a hold is active": a reservation holds stock until the moment it expires.

`expires_at > now`: from that instant on it stops counting everywhere, whether or not the
purge (`reservations_purge_expired`) has deleted its row yet. The rule is asked in three
forms, kept here side by side; `tests/inventory/test_rule_parity.py` proves they agree:

- `hold_active_q`: an ORM filter on `Reservation` (admin lists, cart and link reads);
- `hold_active_sql`: a SQL condition for hand-written statements on the hot path;
- `hold_is_active`: the Python predicate, for one reservation already in memory.

A reader who changes the rule changes all three here.
"""

from __future__ import annotations

from datetime import datetime

from django.db.models import Q, QuerySet
from django.utils import timezone

from inventory.models import Reservation


def hold_active_q(now: datetime | None = None, *, prefix: str = "") -> Q:
    """ORM: reservations (or, with `prefix` such as "reservations__", rows joined to them)
    still holding stock at `now`."""
    return Q(**{f"{prefix}expires_at__gt": now or timezone.now()})


def hold_active_sql(alias: str, now: datetime | None = None) -> tuple[str, list]:
    """SQL: the condition on reservation alias `alias`, and its parameter (portable)."""
    return f"{alias}.expires_at > %s", [now or timezone.now()]


def hold_is_active(reservation: Reservation, now: datetime | None = None) -> bool:
    """Python: whether this reservation still holds its units."""
    return reservation.expires_at > (now or timezone.now())


def holds_active(now: datetime | None = None) -> QuerySet[Reservation]:
    """Every reservation that still holds stock."""
    return Reservation.objects.filter(hold_active_q(now))
