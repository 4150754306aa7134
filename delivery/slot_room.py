"""The slot-capacity rule in every form it is asked in: a slot has room while `booked` is
below `capacity`.

- `SLOT_HAS_ROOM`, a condition for the database: the store's slot listing filters with
  it;
- `SLOT_HAS_ROOM_SQL`, the same written out: checkout's booking is the conditional
  `UPDATE ... WHERE` it (`delivery.locks.slot_booking`, run inside the statement that
  writes the order's rows; `slot_book` alone), so concurrent checkouts can never book
  past the capacity;
- `slot_has_room`, the same on a slot already read: checkout's quote refuses a full slot
  before anything is locked.

`tests/delivery/test_slot_room_parity.py` proves the forms agree on random slots.
"""

from __future__ import annotations

from django.db.models import F, Q

from delivery.models import DeliverySlot

SLOT_HAS_ROOM = Q(booked__lt=F("capacity"))
SLOT_HAS_ROOM_SQL = "booked < capacity"  # on the slot's own table, unqualified


def slot_has_room(slot: DeliverySlot) -> bool:
    """Whether one more delivery can be booked in the slot, on its facts as read."""
    return slot.booked < slot.capacity
