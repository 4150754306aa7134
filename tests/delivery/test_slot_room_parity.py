"""The forms of the slot-capacity rule agree on random slots (real PostgreSQL).

`delivery.slot_room` holds the rule as a database condition (the store's slot listing
filters with it; checkout books with a conditional UPDATE on it) and as a Python check
(checkout's quote). Each example makes slots of random capacity and bookings, asks every
form and the readers built on them, and rolls everything back.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from delivery.checkout import delivery_promise
from delivery.errors import DeliverySlotFull
from delivery.locks import slot_book
from delivery.models import DeliverySlot
from delivery.options import delivery_options
from delivery.slot_room import SLOT_HAS_ROOM, slot_has_room
from tests.delivery.conftest import ADDRESS, NEAR

pytestmark = pytest.mark.django_db

ADDRESS_NEAR = {**ADDRESS, **NEAR}
slot_facts = st.integers(0, 3).flatmap(
    lambda capacity: st.tuples(st.just(capacity), st.integers(0, capacity))
)


class Rollback(Exception):
    """Undoes each example."""


def _booked_by_the_conditional_update(slot: DeliverySlot) -> bool:
    try:
        with transaction.atomic():
            slot_book(slot.pk)
            raise Rollback
    except DeliverySlotFull:
        return False
    except Rollback:
        return True


def _quoted_by_checkout(shop, slot: DeliverySlot) -> bool:
    try:
        delivery_promise(
            channel=shop.channel, address=ADDRESS_NEAR, subtotal=Decimal("20.00"), slot=slot
        )
    except DeliverySlotFull:
        return False
    return True


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(facts=st.lists(slot_facts, min_size=1, max_size=6))
def test_the_forms_of_slot_room_agree_and_every_reader_follows_them(shop, facts):
    first = timezone.now().replace(minute=0, second=0, microsecond=0) + timedelta(hours=2)
    try:
        with transaction.atomic():
            slots = [
                DeliverySlot.objects.create(
                    zone=shop.zone,
                    starts_at=first + timedelta(hours=index),
                    ends_at=first + timedelta(hours=index + 1),
                    capacity=capacity,
                    booked=booked,
                )
                for index, (capacity, booked) in enumerate(facts)
            ]
            python = {slot.pk for slot in slots if slot_has_room(slot)}
            database = set(
                DeliverySlot.objects.filter(SLOT_HAS_ROOM, zone=shop.zone).values_list(
                    "pk", flat=True
                )
            )
            remaining = {slot.pk for slot in slots if slot.remaining > 0}
            [option] = delivery_options(channel=shop.channel, address=ADDRESS_NEAR)
            listed = {slot.pk for slot in option.slots}
            booked = {slot.pk for slot in slots if _booked_by_the_conditional_update(slot)}
            quoted = {slot.pk for slot in slots if _quoted_by_checkout(shop, slot)}

            expected = {
                slot.pk
                for slot, (capacity, taken) in zip(slots, facts, strict=True)
                if taken < capacity
            }
            assert python == expected
            assert database == python
            assert remaining == python
            assert listed == python
            assert booked == python
            assert quoted == python
            raise Rollback
    except Rollback:
        pass


def test_full_slots_do_not_hide_the_ones_with_room_after_the_first_hundred(shop):
    first = timezone.now().replace(minute=0, second=0, microsecond=0) + timedelta(hours=2)
    DeliverySlot.objects.bulk_create(
        DeliverySlot(
            zone=shop.zone,
            starts_at=first + timedelta(minutes=15 * index),
            ends_at=first + timedelta(minutes=15 * index + 15),
            capacity=1,
            booked=1 if index < 100 else 0,
        )
        for index in range(101)
    )

    [option] = delivery_options(channel=shop.channel, address=ADDRESS_NEAR)

    assert [slot.starts_at for slot in option.slots] == [first + timedelta(minutes=1500)]
