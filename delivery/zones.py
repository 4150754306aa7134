"""Which zone serves an address, whether it is open, and what it charges.

A radius zone serves an address with coordinates within `radius_meters` of the store
(great-circle distance); a postal-code zone serves an address whose postal code (upper
case, spaces removed) is listed, in the zone's country. Several zones may serve one
address: the nearest store wins, then the lowest fee. Addresses carry coordinates when
the storefront has them; DELIVERY_GEOCODER (a dotted path to `geocode(address) ->
(latitude, longitude) | None`) may fill them in, otherwise none is assumed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.db.models import QuerySet
from django.utils.module_loading import import_string

from backoffice.versions.current import VersionedCache
from catalog.models import Channel
from delivery.models import DeliveryZone

EARTH_RADIUS_METERS = 6_371_000
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def distance_meters(lat1: float, lng1: float, lat2: float, lng2: float) -> int:
    """Great-circle (haversine) distance in meters."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    d_phi, d_lambda = math.radians(lat2 - lat1), math.radians(lng2 - lng1)
    a = math.sin(d_phi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(d_lambda / 2) ** 2
    return round(2 * EARTH_RADIUS_METERS * math.asin(math.sqrt(a)))


def postal_code_normal(code: str) -> str:
    return "".join((code or "").split()).upper()


def coordinates_of(address: dict | None) -> tuple[float, float] | None:
    if address and address.get("latitude") is not None and address.get("longitude") is not None:
        return float(address["latitude"]), float(address["longitude"])
    return None


@cache
def _geocoder():
    return import_string(settings.DELIVERY_GEOCODER) if settings.DELIVERY_GEOCODER else None


def address_geocode(address: dict | None) -> dict | None:
    """The address with coordinates from DELIVERY_GEOCODER when it has none (a network call:
    never made while rows are locked)."""
    geocoder = _geocoder()
    if not address or geocoder is None or coordinates_of(address):
        return address
    found = geocoder(address)
    if not found:
        return address
    return {**address, "latitude": round(found[0], 6), "longitude": round(found[1], 6)}


@dataclass(frozen=True)
class ZoneMatch:
    zone: DeliveryZone
    distance: int | None  # meters from the store, when both ends have coordinates


def zone_serves(zone: DeliveryZone, address: dict | None) -> ZoneMatch | None:
    """Whether this zone serves the address (the one Python form of the rule)."""
    if not address:
        return None
    point = coordinates_of(address)
    distance = None
    if point and zone.latitude is not None and zone.longitude is not None:
        distance = distance_meters(zone.latitude, zone.longitude, *point)
    if zone.kind == DeliveryZone.Kind.RADIUS:
        if distance is None or zone.radius_meters is None or distance > zone.radius_meters:
            return None
        return ZoneMatch(zone, distance)
    if zone.country and (address.get("country") or "").upper() != zone.country:
        return None
    if postal_code_normal(address.get("postal_code", "")) not in zone.postal_codes:
        return None
    return ZoneMatch(zone, distance)


def channel_zones(channel: Channel) -> QuerySet[DeliveryZone]:
    """Active zones of active warehouses that serve the channel, in its currency (one query)."""
    return DeliveryZone.objects.filter(
        active=True,
        currency=channel.currency,
        warehouse__active=True,
        warehouse__warehousechannel__channel=channel,
    ).select_related("warehouse")


# Per process: the zones serving each channel, valid while the "zones" version (the zones,
# warehouses and their channel routes: `delivery.apps`) and the channels' stand still.
# Read on every on-demand checkout and cart read, changed by staff only: no statement on a hit.
_CHANNEL_ZONES: VersionedCache[tuple[DeliveryZone, ...]] = VersionedCache("zones", "channels")


def channel_zones_cached(channel: Channel) -> tuple[DeliveryZone, ...]:
    """`channel_zones` from the process's cache (shared, read-only: never save them)."""
    return _CHANNEL_ZONES.get(channel.pk, lambda: tuple(channel_zones(channel)))


def zones_for_address(*, channel: Channel, address: dict | None) -> list[ZoneMatch]:
    """Every zone that serves the address, best first (nearest store, then lowest fee)."""
    zones = channel_zones_cached(channel)
    matches = [m for m in map(lambda z: zone_serves(z, address), zones) if m]
    return sorted(
        matches,
        key=lambda m: (m.distance if m.distance is not None else math.inf, m.zone.fee, m.zone.pk),
    )


def zone_fee(zone: DeliveryZone, subtotal: Decimal) -> Decimal:
    if zone.free_over is not None and subtotal >= zone.free_over:
        return Decimal(0)
    return zone.fee


def _zone_tz(zone: DeliveryZone) -> ZoneInfo:
    try:
        return ZoneInfo(zone.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def _windows(zone: DeliveryZone, day: datetime) -> list[tuple[datetime, datetime]]:
    """The day's opening windows as aware datetimes in the zone's time zone."""
    windows = []
    for start, end in zone.opening_hours.get(WEEKDAYS[day.weekday()], []):
        opens = day.replace(hour=int(start[:2]), minute=int(start[3:5]), second=0, microsecond=0)
        if end == "24:00":
            closes = opens.replace(hour=0, minute=0) + timedelta(days=1)
        else:
            closes = day.replace(hour=int(end[:2]), minute=int(end[3:5]), second=0, microsecond=0)
        windows.append((opens, closes))
    return windows


def zone_open_at(zone: DeliveryZone, moment: datetime) -> bool:
    """Whether the zone delivers at `moment` (no opening hours: always)."""
    if not zone.opening_hours:
        return True
    local = moment.astimezone(_zone_tz(zone))
    for day in (local - timedelta(days=1), local):  # a window may run past midnight
        if any(opens <= local < closes for opens, closes in _windows(zone, day)):
            return True
    return False


def zone_opens_next(zone: DeliveryZone, moment: datetime) -> datetime | None:
    """The next opening after `moment` within a week, or None."""
    local = moment.astimezone(_zone_tz(zone))
    for offset in range(8):
        day = local + timedelta(days=offset)
        for opens, _ in sorted(_windows(zone, day)):
            if opens > local:
                return opens
    return None


def opening_hours_problems(hours: object) -> list[str]:
    """Why an opening-hours document is not valid ([] when it is)."""
    if not isinstance(hours, dict):
        return ['Send an object such as {"mon": [["09:00", "21:00"]]}.']
    problems = []
    for day, windows in hours.items():
        if day not in WEEKDAYS:
            problems.append(f"Unknown day '{day}': use {', '.join(WEEKDAYS)}.")
            continue
        if not isinstance(windows, list):
            problems.append(f"{day}: a list of [opens, closes] pairs.")
            continue
        for window in windows:
            if not _window_valid(window):
                problems.append(f'{day}: each window is ["HH:MM", "HH:MM"], opening first.')
    return problems


def opening_hours_text(hours: dict) -> str:
    """Opening hours as staff type them: a day a line, `mon 09:00-12:00 14:00-21:00`."""
    return "\n".join(
        f"{day} " + " ".join(f"{opens}-{closes}" for opens, closes in hours[day])
        for day in WEEKDAYS
        if day in hours
    )


def opening_hours_from_text(text: str) -> dict[str, list[list[str]]]:
    """Read `opening_hours_text`'s form back; ValueError names a line it cannot read (the
    windows themselves are checked by `opening_hours_problems`)."""
    hours: dict[str, list[list[str]]] = {}
    for line in text.splitlines():
        if not line.strip():
            continue
        day, *windows = line.split()
        if day in hours:
            raise ValueError(f"{day} is on two lines: put its windows on one.")
        pairs = [window.split("-") for window in windows]
        if not pairs or any(len(pair) != 2 for pair in pairs):
            raise ValueError(f"'{line.strip()}': a day then its windows, e.g. mon 09:00-21:00.")
        hours[day.lower()] = pairs
    return hours


def _window_valid(window: object) -> bool:
    if not isinstance(window, list | tuple) or len(window) != 2:
        return False
    try:
        minutes = []
        for text in window:
            hours, mins = str(text).split(":")
            if len(str(text)) != 5 or not 0 <= int(mins) < 60 or not 0 <= int(hours) <= 24:
                return False
            minutes.append(int(hours) * 60 + int(mins))
    except ValueError:
        return False
    return minutes[0] < minutes[1] <= 24 * 60 and window[0] != "24:00"


def timezone_valid(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True
