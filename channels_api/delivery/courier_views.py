"""Courier endpoints (`/fulfiller/...` with a courier's token): availability, offers, and
the delivery's pickup, positions, drop and proof. No customer contact is ever shown."""

from __future__ import annotations

from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from backoffice.exceptions import InvalidTransition, NotFound
from backoffice.ids import is_id
from channels_api.delivery.output import (
    CourierDeliveryOutput,
    OfferOutput,
    courier_delivery_data,
    offer_data,
)
from channels_api.fulfiller.authentication import FulfillerTokenAuthentication, IsCourier
from channels_api.idempotency import idempotent
from channels_api.problems import PROBLEM_CONTENT_TYPE, problem_body
from channels_api.schema import raises
from channels_api.views import ApiView
from delivery.couriers import courier_availability_set
from delivery.dispatch import delivery_drop, offer_accept, offer_decline
from delivery.errors import (
    NoActiveDelivery,
    OfferUnavailable,
    PinLocked,
    ProofRequired,
    WrongPin,
)
from delivery.models import Delivery
from delivery.selectors import (
    courier_deliveries,
    courier_delivery_get,
    courier_offer_get,
    courier_offers,
)
from delivery.tracking import delivery_complete, delivery_pickup, location_post

TAGS = ["fulfiller: delivery"]


class CourierOutput(serializers.Serializer):
    id = serializers.CharField()
    name = serializers.CharField()
    available = serializers.BooleanField()
    available_since = serializers.DateTimeField(allow_null=True)
    offers = OfferOutput(many=True, help_text="Open offers: accept or decline before they expire.")
    deliveries = CourierDeliveryOutput(many=True, help_text="Deliveries in hand.")


class AvailabilityInput(serializers.Serializer):
    available = serializers.BooleanField()


class CourierLocationInput(serializers.Serializer):
    latitude = serializers.FloatField(min_value=-90, max_value=90)
    longitude = serializers.FloatField(min_value=-180, max_value=180)
    accuracy = serializers.IntegerField(min_value=0, max_value=100_000, required=False)
    recorded_at = serializers.DateTimeField(required=False, help_text="When the phone took it.")


class LocationOutput(serializers.Serializer):
    status = serializers.CharField()
    estimated_arrival = serializers.DictField()


class DropInput(serializers.Serializer):
    reason = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class CompleteInput(serializers.Serializer):
    pin = serializers.CharField(max_length=12, required=False, help_text="The customer's PIN.")
    photo_url = serializers.CharField(
        max_length=2000, required=False, help_text="https URL of a photo of the handover."
    )


class CourierView(ApiView):
    authentication_classes = [FulfillerTokenAuthentication]
    permission_classes = [IsCourier]
    pagination_class = None
    queryset = Delivery.objects.none()  # for the schema: path ids are deliveries

    @property
    def courier(self):
        return self.request.auth._courier

    def delivery(self, pk: str) -> Delivery:
        delivery = courier_delivery_get(courier=self.courier, pk=pk)
        if delivery is None:
            raise Http404
        return delivery

    def delivery_response(self, delivery: Delivery, code: int = 200) -> Response:
        return Response(courier_delivery_data(self.delivery(str(delivery.pk))), status=code)


def courier_state(courier) -> dict:
    return {
        "id": str(courier.pk),
        "name": courier.name,
        "available": courier.available,
        "available_since": courier.available_since,
        "offers": [offer_data(offer) for offer in courier_offers(courier=courier)],
        "deliveries": [
            courier_delivery_data(delivery)
            for delivery in courier_deliveries(courier=courier).filter(
                status__in=[Delivery.Status.ASSIGNED, Delivery.Status.PICKED_UP]
            )
        ],
    }


class CourierMeView(CourierView):
    @extend_schema(operation_id="courier_retrieve", tags=TAGS, responses={200: CourierOutput})
    def get(self, request: Request) -> Response:
        """Get the courier's state: availability, open offers, deliveries in hand.

        What a courier app shows on its home screen (poll it for new offers). Reads only.
        """
        return Response(CourierOutput(courier_state(self.courier)).data)


class CourierAvailabilityView(CourierView):
    @extend_schema(
        operation_id="courier_availability",
        tags=TAGS,
        request=AvailabilityInput,
        responses={200: CourierOutput},
    )
    @idempotent
    def post(self, request: Request) -> Response:
        """Say whether the courier takes deliveries now.

        Available: the oldest delivery waiting at the courier's stores is offered at once.
        Unavailable: an open offer goes to the next courier.
        """
        payload = AvailabilityInput(data=request.data)
        payload.is_valid(raise_exception=True)
        courier = courier_availability_set(courier=self.courier, **payload.validated_data)
        return Response(CourierOutput(courier_state(courier)).data)


class OfferActionView(CourierView):
    def offer(self, pk: str):
        offer = courier_offer_get(courier=self.courier, pk=pk)
        if offer is None:
            raise Http404
        return offer


class OfferAcceptView(OfferActionView):
    @extend_schema(
        operation_id="courier_offers_accept",
        tags=TAGS,
        request=None,
        responses={200: CourierDeliveryOutput},
    )
    @raises(OfferUnavailable, InvalidTransition)
    @idempotent
    def post(self, request: Request, pk: str) -> Response:
        """Accept a delivery offer.

        The delivery is the courier's: its drop-off address (contacts masked) and the order's
        thread open to them, the customer's arrival window is recomputed and the customer is
        told who is coming. 409 `offer_unavailable` once it expired or was withdrawn.
        """
        delivery = offer_accept(offer=self.offer(pk))
        return self.delivery_response(delivery)


class OfferDeclineView(OfferActionView):
    @extend_schema(
        operation_id="courier_offers_decline",
        tags=TAGS,
        request=None,
        responses={204: None},
    )
    @raises(OfferUnavailable)
    @idempotent
    def post(self, request: Request, pk: str) -> Response:
        """Decline a delivery offer.

        It goes to the next available courier at once.
        """
        offer_decline(offer=self.offer(pk))
        return Response(status=status.HTTP_204_NO_CONTENT)


class CourierDeliveryListView(CourierView):
    @extend_schema(
        operation_id="courier_deliveries_list",
        tags=TAGS,
        responses={200: CourierDeliveryOutput(many=True)},
    )
    def get(self, request: Request) -> Response:
        """List the courier's deliveries.

        Those in hand and those handed over in the last hours (then they disappear, with the
        orders' threads). Reads only.
        """
        return Response(
            [courier_delivery_data(d) for d in courier_deliveries(courier=self.courier)]
        )


class CourierDeliveryDetailView(CourierView):
    @extend_schema(
        operation_id="courier_deliveries_retrieve",
        tags=TAGS,
        responses={200: CourierDeliveryOutput},
    )
    def get(self, request: Request, pk: str) -> Response:
        """Get one of the courier's deliveries.

        Pickup and drop-off, the order's lines, the proof it takes. Reads only.
        """
        return Response(courier_delivery_data(self.delivery(pk)))


class CourierPickupView(CourierView):
    @extend_schema(
        operation_id="courier_deliveries_pickup",
        tags=TAGS,
        request=None,
        responses={200: CourierDeliveryOutput},
    )
    @raises(InvalidTransition)
    @idempotent
    def post(self, request: Request, pk: str) -> Response:
        """Confirm the pickup at the store.

        The order's shipment leaves the store (out of stock, `fulfillment.shipped` to
        webhooks), the customer sees the courier on the way and a new arrival window.
        """
        delivery = delivery_pickup(
            delivery=self.delivery(pk), courier=self.courier, actor=self.request.auth.actor
        )
        return self.delivery_response(delivery)


class CourierLocationView(CourierView):
    @extend_schema(
        operation_id="courier_deliveries_location",
        tags=TAGS,
        request=CourierLocationInput,
        responses={202: LocationOutput},
    )
    @raises(NoActiveDelivery, NotFound)
    @idempotent
    def post(self, request: Request, pk: str) -> Response:
        """Post the courier's position (every few seconds while on the delivery).

        Pushed to the customer's and staff's streams at once with the arrival window, which is
        recomputed (and written on the timeline when it moved by a couple of minutes). Taken
        only while the courier is on this delivery: 409 `no_active_delivery` otherwise.
        """
        payload = CourierLocationInput(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        if not is_id(pk):
            raise Http404
        delivery = location_post(
            delivery=Delivery(pk=int(pk)),  # checked and locked in one statement there
            courier=self.courier,
            latitude=data["latitude"],
            longitude=data["longitude"],
            accuracy=data.get("accuracy"),
            recorded_at=data.get("recorded_at"),
        )
        return Response(
            {
                "status": delivery.status,
                "estimated_arrival": {
                    "earliest": delivery.estimated_earliest,
                    "latest": delivery.estimated_latest,
                },
            },
            status=status.HTTP_202_ACCEPTED,
        )


class CourierDropView(CourierView):
    @extend_schema(
        operation_id="courier_deliveries_drop",
        tags=TAGS,
        request=DropInput,
        responses={204: None},
    )
    @raises(InvalidTransition)
    @idempotent
    def post(self, request: Request, pk: str) -> Response:
        """Give an accepted delivery back before pickup.

        It goes back in the queue and is offered to the next courier; this courier no longer
        sees the order. 409 `invalid_transition` after pickup (ask the shop).
        """
        payload = DropInput(data=request.data)
        payload.is_valid(raise_exception=True)
        delivery = self.delivery(pk)
        delivery_drop(delivery=delivery, courier=self.courier, **payload.validated_data)
        return Response(status=status.HTTP_204_NO_CONTENT)


class CourierCompleteView(CourierView):
    @extend_schema(
        operation_id="courier_deliveries_complete",
        tags=TAGS,
        request=CompleteInput,
        responses={200: CourierDeliveryOutput},
    )
    @raises(WrongPin, PinLocked, ProofRequired, InvalidTransition)
    @idempotent
    def post(self, request: Request, pk: str) -> Response:
        """Hand the order over, with proof.

        `pin`: the customer's PIN (a wrong one is 422 `wrong_pin` with `attempts_left`, and after
        the last attempt 409 `pin_locked`), or `photo_url`: a photo of the handover, as the zone
        accepts. The delivery and its shipment are delivered, the proof goes on the timeline
        and a paid order completes.
        """
        payload = CompleteInput(data=request.data)
        payload.is_valid(raise_exception=True)
        delivery, wrong = delivery_complete(
            delivery=self.delivery(pk),
            courier=self.courier,
            actor=self.request.auth.actor,
            **payload.validated_data,
        )
        if wrong is not None:  # counted and committed: answered, not raised (no rollback)
            return Response(
                problem_body(wrong.status, wrong.code, wrong.detail, **wrong.extra),
                status=wrong.status,
                content_type=PROBLEM_CONTENT_TYPE,
            )
        return self.delivery_response(delivery)
