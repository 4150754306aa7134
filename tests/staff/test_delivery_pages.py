"""On-demand delivery in the admin: zones typed as text, checked by the API's rules, and
each store manager seeing only their own store's zones and couriers."""

from __future__ import annotations

import pytest
from django.urls import reverse

from delivery.couriers import courier_create
from delivery.models import DeliveryZone
from delivery.setup import zone_create

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
