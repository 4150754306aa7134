"""On-demand delivery in the admin: zones typed as text, checked by the API's rules, and
each store manager seeing only their own store's zones and couriers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse

from delivery.couriers import courier_create
from delivery.locks import slot_book
from delivery.models import CartDelivery, DeliverySlot, DeliveryZone
from delivery.setup import slots_create, zone_create
from orders.models import Cart
from tests.parallel import while_held

pytestmark = pytest.mark.django_db

ZONES = "/admin/delivery/deliveryzone/"


def zone_form(shop, **changes) -> dict:
    form = {
        "code": "soho-walk",
        "name": "Soho on foot",
        "warehouse": shop.soho.pk,
        "kind": "postal_codes",
        "postal_codes": "w1d 3qf\nW1F 0AA\n\n",
        "country": "gb",
        "currency": "USD",
        "fee": "2.50",
        "minimum_order": "10.00",
        "preparation_minutes": "10",
        "speed_kmh": "15",
        "travel_minutes": "15",
        "opening_hours": "mon 09:00-12:00 14:00-21:00\nsat 10:00-16:00",
        "timezone": "Europe/London",
        "proof": "pin_or_photo",
        "provider": "couriers",
        "active": "on",
        "slots-TOTAL_FORMS": "0",
        "slots-INITIAL_FORMS": "0",
    }
    return {**form, **changes}


def test_a_zone_is_added_with_postal_codes_and_hours_as_text(client, shop, staff):
    client.force_login(staff["owner"])

    response = client.post(reverse("admin:delivery_deliveryzone_add"), zone_form(shop))

    assert response.status_code == 302, response.context["adminform"].form.errors
    zone = DeliveryZone.objects.get(code="soho-walk")
    assert zone.postal_codes == ["W1D3QF", "W1F0AA"]  # normalised by the API's own rule
    assert zone.opening_hours == {"mon": [["09:00", "12:00"], ["14:00", "21:00"]],
                                  "sat": [["10:00", "16:00"]]}  # fmt: skip
    assert zone.country == "GB"
    page = client.get(reverse("admin:delivery_deliveryzone_change", args=[zone.pk]))
    assert "mon 09:00-12:00 14:00-21:00" in page.content.decode()


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"opening_hours": "mon 21:00-09:00"}, "opening_hours"),
        ({"opening_hours": "someday 09:00-10:00"}, "opening_hours"),
        ({"opening_hours": "mon 09:00"}, "opening_hours"),
        ({"postal_codes": ""}, "postal_codes"),
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"fee": "2.505"}, "fee"),
    ],
)
def test_a_zone_the_api_would_refuse_is_refused_with_the_field_named(
    client, shop, staff, changes, field
):
    client.force_login(staff["owner"])

    response = client.post(reverse("admin:delivery_deliveryzone_add"), zone_form(shop, **changes))

    assert response.status_code == 200
    assert field in response.context["adminform"].form.errors
    assert not DeliveryZone.objects.filter(code="soho-walk").exists()


def test_a_store_manager_sees_only_their_stores_zones_and_couriers(client, shop, staff):
    common = {"name": "Zone", "kind": "postal_codes", "postal_codes": ["1"], "currency": "USD"}
    soho_zone = zone_create(code="soho-zone", warehouse=shop.soho, fields=common)
    harbour_zone = zone_create(code="harbour-zone", warehouse=shop.harbour, fields=common)
    courier_create(name="Sol", warehouses=[shop.soho])
    harbour_courier, _ = courier_create(name="Hal", warehouses=[shop.harbour])
    client.force_login(staff["soho_manager"])

    zones = client.get(ZONES)
    couriers = client.get("/admin/delivery/courier/")

    assert zones.status_code == 200
    assert [zone.code for zone in zones.context["cl"].result_list] == ["soho-zone"]
    assert [str(c) for c in couriers.context["cl"].result_list] == ["Sol"]
    for name, pk in (("deliveryzone", harbour_zone.pk), ("courier", harbour_courier.pk)):
        assert client.get(reverse(f"admin:delivery_{name}_change", args=[pk])).status_code == 404
    soho_page = client.get(reverse("admin:delivery_deliveryzone_change", args=[soho_zone.pk]))
    assert soho_page.status_code == 200


START = datetime(2030, 6, 3, 9, 0, tzinfo=UTC)


def slot_page_form(shop, zone: DeliveryZone, slots: list[dict], **changes) -> dict:
    """The zone's change form as the page posts it, with its slots' rows."""
    form = zone_form(shop, **changes)
    form["slots-TOTAL_FORMS"] = str(len(slots))
    form["slots-INITIAL_FORMS"] = str(sum(1 for slot in slots if slot.get("id")))
    for index, slot in enumerate(slots):
        row = f"slots-{index}-"
        form[row + "zone"] = str(zone.pk)
        form[row + "id"] = str(slot.get("id", ""))
        for name in ("starts_at", "ends_at"):
            form[row + name + "_0"] = f"{slot[name]:%Y-%m-%d}"
            form[row + name + "_1"] = f"{slot[name]:%H:%M:%S}"
        form[row + "capacity"] = str(slot["capacity"])
        if slot.get("delete"):
            form[row + "DELETE"] = "on"
    return form


@pytest.fixture
def slotted_zone(shop) -> tuple[DeliveryZone, DeliverySlot]:
    zone = zone_create(
        code="soho-walk",
        warehouse=shop.soho,
        fields={
            "name": "Soho on foot",
            "kind": "postal_codes",
            "postal_codes": ["W1D3QF"],
            "currency": "USD",
        },
    )
    [slot] = slots_create(
        zone=zone, starts_at=START, ends_at=START + timedelta(hours=1), slot_minutes=60, capacity=5
    )
    return zone, slot


def row(slot: DeliverySlot, **changes) -> dict:
    return {"id": slot.pk, "starts_at": slot.starts_at, "ends_at": slot.ends_at,
            "capacity": slot.capacity, **changes}  # fmt: skip


@pytest.mark.django_db(transaction=True)
def test_a_slot_edited_in_the_admin_keeps_the_bookings_committed_while_it_saved(
    client, shop, staff, slotted_zone
):
    zone, slot = slotted_zone
    client.force_login(staff["owner"])
    page = reverse("admin:delivery_deliveryzone_change", args=[zone.pk])

    def bookings_commit_meanwhile() -> None:  # committed once the page's save waits on them
        DeliverySlot.objects.select_for_update().get(pk=slot.pk)
        slot_book(slot.pk)
        slot_book(slot.pk)

    response = while_held(
        bookings_commit_meanwhile,
        lambda: client.post(page, slot_page_form(shop, zone, [row(slot, capacity=8)])),
    )

    assert response.status_code == 302
    slot.refresh_from_db()
    assert (slot.capacity, slot.booked) == (8, 2)  # the bookings are not written over


def test_a_booked_slot_keeps_its_times_and_nothing_of_that_save_is_kept(
    client, shop, staff, slotted_zone
):
    zone, slot = slotted_zone
    slot_book(slot.pk)
    client.force_login(staff["owner"])
    page = reverse("admin:delivery_deliveryzone_change", args=[zone.pk])
    later = {"starts_at": START + timedelta(hours=2), "ends_at": START + timedelta(hours=3)}

    response = client.post(
        page, slot_page_form(shop, zone, [row(slot, **later)], name="Renamed"), follow=True
    )

    assert response.status_code == 200
    assert "Nothing was saved. starts_at: 1 deliveries are booked" in response.content.decode()
    slot.refresh_from_db()
    zone.refresh_from_db()
    assert (slot.starts_at, slot.booked, zone.name) == (START, 1, "Soho on foot")


def test_slots_are_added_moved_and_removed_from_the_zone_page(client, shop, staff, slotted_zone):
    zone, slot = slotted_zone
    client.force_login(staff["owner"])
    page = reverse("admin:delivery_deliveryzone_change", args=[zone.pk])
    evening = START + timedelta(hours=10)
    new = {"starts_at": evening, "ends_at": evening + timedelta(minutes=30), "capacity": 3}

    response = client.post(page, slot_page_form(shop, zone, [row(slot, delete=True), new]))

    assert response.status_code == 302
    assert list(zone.slots.values_list("starts_at", "ends_at", "capacity", "booked")) == [
        (evening, evening + timedelta(minutes=30), 3, 0)
    ]


@pytest.mark.django_db(transaction=True)
def test_a_zone_code_taken_while_the_page_saved_is_refused_with_a_message(client, shop, staff):
    client.force_login(staff["owner"])
    fields = {"name": "First", "kind": "postal_codes", "postal_codes": ["1"], "currency": "USD"}

    response = while_held(
        lambda: zone_create(code="soho-walk", warehouse=shop.soho, fields=fields),
        lambda: client.post(reverse("admin:delivery_deliveryzone_add"), zone_form(shop)),
    )

    assert response.status_code == 302
    page = client.get(response.url)
    assert "Nothing was saved. code: A zone &#x27;soho-walk&#x27; exists." in page.content.decode()
    assert list(DeliveryZone.objects.values_list("name", flat=True)) == ["First"]


def test_a_slot_removed_on_the_zone_page_tells_the_carts_that_chose_it(
    client, shop, staff, slotted_zone
):
    zone, slot = slotted_zone
    cart = Cart.objects.create(channel=shop.web)
    CartDelivery.objects.create(cart=cart, slot=slot)
    client.force_login(staff["owner"])
    page = reverse("admin:delivery_deliveryzone_change", args=[zone.pk])

    response = client.post(page, slot_page_form(shop, zone, [row(slot, delete=True)]), follow=True)

    assert response.status_code == 200
    assert "was chosen by 1 open cart: they are asked to choose another one" in (
        response.content.decode()
    )
    assert not zone.slots.exists()
    choice = CartDelivery.objects.get(cart=cart)
    assert (choice.slot_id, choice.slot_withdrawn) == (None, True)
