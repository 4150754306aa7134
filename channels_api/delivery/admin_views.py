"""Staff endpoints of on-demand delivery: zones, slots, couriers, deliveries."""

from __future__ import annotations

from django.db.models import QuerySet
from django.http import Http404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from backoffice.exceptions import InvalidTransition, ValidationFailed
from backoffice.ids import is_id
from backoffice.timefmt import rfc3339
from channels_api.admin_api.base import AdminView
from channels_api.delivery.output import (
    SlotOutput,
    StaffDeliveryOutput,
    ZoneOutput,
    slot_data,
    staff_delivery_data,
    zone_data,
)
from channels_api.fields import AmountInput
from channels_api.idempotency import idempotent
from channels_api.permissions import IsUnrestrictedSecretKey
from channels_api.schema import raises
from delivery.couriers import courier_create
from delivery.dispatch import delivery_assign, delivery_requeue
from delivery.errors import CourierBusy
from delivery.models import Courier, Delivery, DeliveryZone
from delivery.selectors import delivery_get, delivery_list
from delivery.setup import slot_capacity_set, slots_create, zone_create, zone_update
from delivery.tracking import delivery_complete
from inventory.models import Warehouse

TAGS = ["admin: delivery"]


class ZoneInput(serializers.Serializer):
    code = serializers.CharField(max_length=50)
    warehouse = serializers.CharField(max_length=50, help_text="The store's code.")
    name = serializers.CharField(max_length=200, required=False)
    kind = serializers.ChoiceField(choices=DeliveryZone.Kind.choices, required=False)
    latitude = serializers.FloatField(min_value=-90, max_value=90, required=False)
    longitude = serializers.FloatField(min_value=-180, max_value=180, required=False)
    radius_meters = serializers.IntegerField(min_value=1, max_value=200_000, required=False)
    postal_codes = serializers.ListField(
        child=serializers.CharField(max_length=20), max_length=5000, required=False
    )
    country = serializers.CharField(max_length=2, required=False, allow_blank=True)
    currency = serializers.CharField(max_length=3, required=False)
    fee = AmountInput(required=False)
    free_over = AmountInput(required=False, allow_null=True)
    minimum_order = AmountInput(required=False)
    preparation_minutes = serializers.IntegerField(min_value=0, max_value=1440, required=False)
    speed_kmh = serializers.IntegerField(min_value=1, max_value=200, required=False)
    travel_minutes = serializers.IntegerField(min_value=1, max_value=1440, required=False)
    opening_hours = serializers.JSONField(required=False)
    timezone = serializers.CharField(max_length=64, required=False)
    proof = serializers.ChoiceField(choices=DeliveryZone.Proof.choices, required=False)
    provider = serializers.CharField(
        max_length=30, required=False, help_text="Who delivers: `couriers` (the shop's own)."
    )
    active = serializers.BooleanField(required=False)


class ZoneUpdateInput(ZoneInput):
    code = None
    warehouse = None


class SlotsInput(serializers.Serializer):
    starts_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField()
    slot_minutes = serializers.IntegerField(min_value=5, max_value=1440, default=60)
    capacity = serializers.IntegerField(min_value=1, max_value=100_000)


class SlotPageOutput(serializers.Serializer):
    results = SlotOutput(many=True)


class SlotCapacityInput(serializers.Serializer):
    capacity = serializers.IntegerField(min_value=0, max_value=100_000)


class CourierInput(serializers.Serializer):
    name = serializers.CharField(max_length=200, help_text="Shown to customers, e.g. 'Sam'.")
    warehouses = serializers.ListField(
        child=serializers.CharField(max_length=50), min_length=1, max_length=100
    )
    expires_at = serializers.DateTimeField(required=False)


class CourierAdminOutput(serializers.Serializer):
    id = serializers.CharField()
    name = serializers.CharField()
    warehouses = serializers.ListField(child=serializers.CharField())
    available = serializers.BooleanField()
    active = serializers.BooleanField()
    access_id = serializers.CharField(help_text="Revoke with /admin/fulfillers/{id}/revoke.")
    token = serializers.CharField(required=False, help_text="Shown once, at creation.")


class AssignInput(serializers.Serializer):
    courier = serializers.CharField(max_length=20, help_text="The courier's id.")


class ReasonInput(serializers.Serializer):
    reason = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class StaffCompleteInput(serializers.Serializer):
    note = serializers.CharField(max_length=1000, help_text="How the handover was confirmed.")


def courier_data(courier: Courier, token: str | None = None) -> dict:
    data = {
        "id": str(courier.pk),
        "name": courier.name,
        "warehouses": [w.code for w in courier.warehouses.all()],
        "available": courier.available,
        "active": courier.active,
        "access_id": str(courier.access_id),
    }
    if token:
        data["token"] = token
    return data


def zones_visible(channel) -> QuerySet[DeliveryZone]:
    """Every zone for an unrestricted key; a channel-limited key's: its stores' zones."""
    zones = DeliveryZone.objects.select_related("warehouse")
    if channel is not None:
        zones = zones.filter(warehouse__warehousechannel__channel=channel)
    return zones


def warehouse_by_code(code: str, field: str) -> Warehouse:
    warehouse = Warehouse.objects.filter(code__iexact=code).first()
    if warehouse is None:
        raise ValidationFailed({field: [f"No warehouse '{code}'."]})
    return warehouse


class ZoneListView(AdminView):
    pagination_class = None
    queryset = DeliveryZone.objects.none()

    def get_permissions(self):
        if self.request.method == "POST":
            return [IsUnrestrictedSecretKey()]
        return super().get_permissions()

    @extend_schema(
        operation_id="admin_delivery_zones_list", tags=TAGS, responses={200: ZoneOutput(many=True)}
    )
    def get(self, request: Request) -> Response:
        """List delivery zones.

        Every zone of every store, with fee, minimum, preparation time and hours. Reads only.
        """
        zones = zones_visible(self.limited_channel).order_by("code")
        return Response([zone_data(zone) for zone in zones])

    @extend_schema(
        operation_id="admin_delivery_zones_create",
        tags=TAGS,
        request=ZoneInput,
        responses={201: ZoneOutput},
    )
    @idempotent
    def post(self, request: Request) -> Response:
        """Create a delivery zone for a store.

        A radius (`latitude`, `longitude` of the store and `radius_meters`) or `postal_codes`
        (with `country`); `fee`, `free_over` and `minimum_order` in the zone's `currency` (the
        default currency unless given); `opening_hours` as `{"mon": [["09:00", "21:00"]], ...}`
        in `timezone` (empty: always open); `proof`: what the courier must show.
        """
        payload = ZoneInput(data=request.data)
        payload.is_valid(raise_exception=True)
        data = dict(payload.validated_data)
        from django.conf import settings

        data.setdefault("currency", settings.DEFAULT_CURRENCY)
        zone = zone_create(
            code=data.pop("code"),
            warehouse=warehouse_by_code(data.pop("warehouse"), "warehouse"),
            fields=data,
        )
        return Response(zone_data(zone), status=status.HTTP_201_CREATED)


class ZoneMixin(AdminView):
    pagination_class = None
    queryset = DeliveryZone.objects.none()

    def zone(self, code: str) -> DeliveryZone:
        zone = zones_visible(self.limited_channel).filter(code=code).first()
        if zone is None:
            raise Http404
        return zone


class ZoneDetailView(ZoneMixin):
    def get_permissions(self):
        if self.request.method == "PATCH":
            return [IsUnrestrictedSecretKey()]
        return super().get_permissions()

    @extend_schema(
        operation_id="admin_delivery_zones_retrieve", tags=TAGS, responses={200: ZoneOutput}
    )
    def get(self, request: Request, code: str) -> Response:
        """Get a delivery zone.

        Reads only.
        """
        return Response(zone_data(self.zone(code)))

    @extend_schema(
        operation_id="admin_delivery_zones_update",
        tags=TAGS,
        request=ZoneUpdateInput,
        responses={200: ZoneOutput},
    )
    def patch(self, request: Request, code: str) -> Response:
        """Change a delivery zone.

        Fee, minimum, hours and area apply to the next checkouts; placed orders keep theirs.
        """
        payload = ZoneUpdateInput(data=request.data, partial=True)
        payload.is_valid(raise_exception=True)
        zone = zone_update(zone=self.zone(code), fields=dict(payload.validated_data))
        return Response(zone_data(zone))


class ZoneSlotsView(ZoneMixin):
    def get_permissions(self):
        if self.request.method == "POST":
            return [IsUnrestrictedSecretKey()]
        return super().get_permissions()

    @extend_schema(
        operation_id="admin_delivery_slots_list", tags=TAGS, responses={200: SlotPageOutput}
    )
    def get(self, request: Request, code: str) -> Response:
        """List a zone's delivery slots.

        Upcoming slots with their capacity and what is left. Reads only.
        """
        from django.utils import timezone

        slots = self.zone(code).slots.filter(ends_at__gt=timezone.now()).order_by("starts_at")[:500]
        return Response({"results": [slot_data(slot) for slot in slots]})

    @extend_schema(
        operation_id="admin_delivery_slots_create",
        tags=TAGS,
        request=SlotsInput,
        responses={201: SlotPageOutput},
    )
    @idempotent
    def post(self, request: Request, code: str) -> Response:
        """Open scheduled delivery slots.

        Slots of `slot_minutes` from `starts_at` to `ends_at`, each for `capacity` deliveries;
        checkouts never book a slot past its capacity, however many run at once.
        """
        payload = SlotsInput(data=request.data)
        payload.is_valid(raise_exception=True)
        slots = slots_create(zone=self.zone(code), **payload.validated_data)
        return Response({"results": [slot_data(s) for s in slots]}, status=status.HTTP_201_CREATED)


class SlotDetailView(ZoneMixin):
    permission_classes = [IsUnrestrictedSecretKey]

    @extend_schema(
        operation_id="admin_delivery_slots_update",
        tags=TAGS,
        request=SlotCapacityInput,
        responses={200: SlotOutput},
    )
    def patch(self, request: Request, code: str, pk: str) -> Response:
        """Change a slot's capacity.

        Never below the deliveries it has booked (400).
        """
        payload = SlotCapacityInput(data=request.data)
        payload.is_valid(raise_exception=True)
        slot = self.zone(code).slots.filter(pk=int(pk)).first() if is_id(pk) else None
        if slot is None:
            raise Http404
        return Response(slot_data(slot_capacity_set(slot=slot, **payload.validated_data)))


class CourierListView(AdminView):
    pagination_class = None
    queryset = Courier.objects.none()

    def get_permissions(self):
        if self.request.method == "POST":
            return [IsUnrestrictedSecretKey()]
        return super().get_permissions()

    @extend_schema(
        operation_id="admin_couriers_list",
        tags=TAGS,
        responses={200: CourierAdminOutput(many=True)},
    )
    def get(self, request: Request) -> Response:
        """List the shop's couriers.

        With their stores and whether they take deliveries now. Reads only.
        """
        couriers = Courier.objects.select_related("access").prefetch_related("warehouses")
        channel = self.limited_channel
        if channel is not None:  # the couriers of the stores that serve the key's channel
            couriers = couriers.filter(warehouses__warehousechannel__channel=channel).distinct()
        return Response([courier_data(courier) for courier in couriers.order_by("id")])

    @extend_schema(
        operation_id="admin_couriers_create",
        tags=TAGS,
        request=CourierInput,
        responses={201: CourierAdminOutput},
    )
    @idempotent
    def post(self, request: Request) -> Response:
        """Add a courier.

        The answer holds the courier's token (`ft_...`), shown this once: the courier app signs
        in with it. It sees no order until a delivery is assigned to the courier.
        """
        payload = CourierInput(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        warehouses = [warehouse_by_code(code, "warehouses") for code in data["warehouses"]]
        courier, token = courier_create(
            name=data["name"],
            warehouses=warehouses,
            expires_at=data.get("expires_at"),
            actor=request.auth.actor,
        )
        return Response(courier_data(courier, token), status=status.HTTP_201_CREATED)


class DeliveryListView(AdminView):
    serializer_class = StaffDeliveryOutput
    query_parameters = ("status",)

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Delivery.objects.none()
        return delivery_list(channel=self.limited_channel)

    @extend_schema(
        operation_id="admin_deliveries_list",
        tags=TAGS,
        parameters=[OpenApiParameter("status", str, description="Only deliveries in this status.")],
    )
    def get(self, request: Request) -> Response:
        """List deliveries, newest first.

        `status` filters (e.g. `queued` for those waiting for a courier). Reads only.
        """
        deliveries = self.get_queryset()
        wanted = request.query_params.get("status")
        if wanted is not None:
            if wanted not in Delivery.Status.values:
                raise ValidationFailed({"status": [f"One of {', '.join(Delivery.Status.values)}."]})
            deliveries = deliveries.filter(status=wanted)
        page = self.paginate_queryset(deliveries)
        return self.get_paginated_response([staff_delivery_data(d) for d in page])


class DeliveryMixin(AdminView):
    pagination_class = None
    queryset = Delivery.objects.none()

    def delivery(self, pk: str) -> Delivery:
        delivery = delivery_get(pk=pk, channel=self.limited_channel)
        if delivery is None:
            raise Http404
        return delivery

    def answer(self, delivery: Delivery) -> Response:
        return Response(staff_delivery_data(self.delivery(str(delivery.pk))))


class DeliveryDetailView(DeliveryMixin):
    @extend_schema(
        operation_id="admin_deliveries_retrieve", tags=TAGS, responses={200: StaffDeliveryOutput}
    )
    def get(self, request: Request, pk: str) -> Response:
        """Get a delivery.

        Status, courier and position, arrival window, offers made so far (`offers`). Reads only.
        """
        delivery = self.delivery(pk)
        data = staff_delivery_data(delivery)
        data["offers"] = [
            {
                "courier_id": str(offer.courier_id),
                "status": offer.status,
                "created_at": rfc3339(offer.created_at),
                "expires_at": rfc3339(offer.expires_at),
                "answered_at": rfc3339(offer.answered_at),
            }
            for offer in delivery.offers.order_by("id")
        ]
        return Response(data)


class DeliveryAssignView(DeliveryMixin):
    @extend_schema(
        operation_id="admin_deliveries_assign",
        tags=TAGS,
        request=AssignInput,
        responses={200: StaffDeliveryOutput},
    )
    @raises(InvalidTransition, CourierBusy)
    @idempotent
    def post(self, request: Request, pk: str) -> Response:
        """Assign a courier by hand.

        Any open offer is withdrawn; the courier sees the order at once and the customer is
        told. 409 `courier_busy` when the courier has another delivery in hand.
        """
        delivery = self.delivery(pk)  # another channel's is 404 whatever the body says
        payload = AssignInput(data=request.data)
        payload.is_valid(raise_exception=True)
        courier_id = payload.validated_data["courier"]
        courier = Courier.objects.filter(pk=int(courier_id)).first() if is_id(courier_id) else None
        if courier is None:
            raise ValidationFailed({"courier": ["No such courier."]})
        delivery = delivery_assign(delivery=delivery, courier=courier, actor=request.auth.actor)
        return self.answer(delivery)


class DeliveryRequeueView(DeliveryMixin):
    @extend_schema(
        operation_id="admin_deliveries_requeue",
        tags=TAGS,
        request=ReasonInput,
        responses={200: StaffDeliveryOutput},
    )
    @raises(InvalidTransition)
    @idempotent
    def post(self, request: Request, pk: str) -> Response:
        """Take a delivery from its courier and queue it again.

        Before pickup only; it is offered to the next courier.
        """
        payload = ReasonInput(data=request.data)
        payload.is_valid(raise_exception=True)
        delivery = delivery_requeue(
            delivery=self.delivery(pk), actor=request.auth.actor, **payload.validated_data
        )
        return self.answer(delivery)


class DeliveryCompleteView(DeliveryMixin):
    @extend_schema(
        operation_id="admin_deliveries_complete",
        tags=TAGS,
        request=StaffCompleteInput,
        responses={200: StaffDeliveryOutput},
    )
    @raises(InvalidTransition)
    @idempotent
    def post(self, request: Request, pk: str) -> Response:
        """Mark a picked-up delivery as handed over, on staff's word.

        For when the PIN is locked or the courier's phone died: the `note` goes on the timeline
        as the proof.
        """
        payload = StaffCompleteInput(data=request.data)
        payload.is_valid(raise_exception=True)
        delivery, _ = delivery_complete(
            delivery=self.delivery(pk),
            courier=None,
            actor=request.auth.actor,
            staff_note=payload.validated_data["note"],
        )
        return self.answer(delivery)
