"""Store endpoints of on-demand delivery: the options for an address."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from backoffice.exceptions import ValidationFailed
from backoffice.money import money_dict, parse_amount
from backoffice.timefmt import rfc3339
from channels_api.delivery.output import SlotOutput, WindowOutput, slot_data
from channels_api.fields import MoneyOutput
from channels_api.store.views import StoreView
from delivery.options import delivery_options
from orders.services.validation import address_clean

TAGS = ["store: delivery"]
QUERY = ("postal_code", "country", "latitude", "longitude", "subtotal")


class DeliveryOptionOutput(serializers.Serializer):
    shipping_method = serializers.CharField(help_text="The `shipping_method` to check out with.")
    name = serializers.CharField()
    zone = serializers.DictField(help_text="`code` and `name` of the zone that delivers.")
    fee = MoneyOutput()
    free_over = MoneyOutput(allow_null=True)
    minimum_order = MoneyOutput()
    below_minimum = serializers.BooleanField(help_text="For the `subtotal` given.")
    open_now = serializers.BooleanField()
    opens_at = serializers.DateTimeField(allow_null=True)
    asap = WindowOutput(allow_null=True, help_text="The arrival window if ordered now.")
    slots = SlotOutput(many=True, help_text="Slots of the next 7 days with room left.")


class DeliveryOptionPageOutput(serializers.Serializer):
    results = DeliveryOptionOutput(many=True)


class DeliveryOptionsView(StoreView):
    pagination_class = None
    query_parameters = QUERY

    @extend_schema(
        operation_id="store_delivery_options",
        tags=TAGS,
        parameters=[
            OpenApiParameter("postal_code", str, description="The address's postal code."),
            OpenApiParameter("country", str, description="ISO 3166-1 alpha-2."),
            OpenApiParameter("latitude", float, description="With `longitude`, degrees."),
            OpenApiParameter("longitude", float),
            OpenApiParameter("subtotal", str, description="The cart's subtotal, e.g. 24.50."),
        ],
        responses={200: DeliveryOptionPageOutput},
    )
    def get(self, request: Request) -> Response:
        """List the on-demand delivery options for an address.

        For each on-demand shipping method of the channel: the zone that serves the address,
        its fee (for `subtotal`, when given), minimum order, whether it delivers now and the
        arrival window if ordered now, and the scheduled slots with room left. An address no
        zone serves answers an empty list. Reads only.
        """
        params = request.query_params
        address = {key: params[key] for key in ("postal_code", "country") if key in params}
        for key in ("latitude", "longitude"):
            if key in params:
                address[key] = params[key]
        if not address:
            raise ValidationFailed({"postal_code": ["Send a postal code or coordinates."]})
        # The same checks as a checkout's address; name and street are not needed here.
        address = address_clean(
            {"name": "-", "line1": "-", "city": "-", "postal_code": "-", "country": "ZZ"} | address,
            field="address",
        )
        subtotal = None
        if "subtotal" in params:
            try:
                subtotal = parse_amount(params["subtotal"], self.channel.currency)
            except ValueError as error:
                raise ValidationFailed({"subtotal": [str(error)]}) from error
        currency = self.channel.currency
        options = delivery_options(channel=self.channel, address=address, subtotal=subtotal)
        return Response(
            {
                "results": [
                    {
                        "shipping_method": option.method.code,
                        "name": option.method.name,
                        "zone": {"code": option.zone.code, "name": option.zone.name},
                        "fee": money_dict(option.fee, currency),
                        "free_over": money_dict(option.zone.free_over, currency)
                        if option.zone.free_over is not None
                        else None,
                        "minimum_order": money_dict(option.zone.minimum_order, currency),
                        "below_minimum": option.below_minimum,
                        "open_now": option.open_now,
                        "opens_at": rfc3339(option.opens_at),
                        "asap": {
                            "earliest": rfc3339(option.asap.earliest),
                            "latest": rfc3339(option.asap.latest),
                        }
                        if option.asap
                        else None,
                        "slots": [slot_data(slot) for slot in option.slots],
                    }
                    for option in options
                ]
            }
        )
