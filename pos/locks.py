"""Row locks of the point of sale: a till sale's row, claimed before anything else.

A till sale with a `client_id` starts by claiming its PosSale row (inserting it, or
finding the one that exists), and only then rings the sale up, which locks stock. A
live sale and an offline upload carrying the same sale therefore queue on the claim
(the second insert waits for the first transaction, then finds its row) instead of
each holding one of the rows the other wants. That is the first step of the system's
one lock order (docs/architecture.md, "Lock order").
"""

from __future__ import annotations

from typing import Any

from catalog.models import Channel
from pos.models import PosSale


def pos_sale_claim(
    *, channel: Channel, client_id: str, defaults: dict[str, Any]
) -> tuple[PosSale, bool]:
    """The sale's row and whether this call created it; call inside a transaction.

    While another transaction holds an uncommitted claim of the same `client_id`, this
    waits for it to end, then returns its row (committed) or claims it (rolled back).
    """
    return PosSale.objects.select_related("store").get_or_create(
        channel=channel, client_id=client_id, defaults=defaults
    )


def pos_sale_lock(sale: PosSale) -> PosSale:
    """Lock the sale's row (staff resolving it); returns it fresh."""
    return PosSale.objects.select_for_update().get(pk=sale.pk)
