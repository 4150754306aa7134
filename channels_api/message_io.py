"""Input and output shapes of order messages, and the thread as one viewer reads it."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.urls import replace_query_param

from backoffice.exceptions import ValidationFailed
from backoffice.ids import is_id
from channels_api.pagination import page_limit
from orders.messages.services import (
    MAX_ATTACHMENTS,
    message_body_for,
    message_list,
    message_payload,
)
from orders.models import Order, OrderMessage

# The query parameters of a thread (`thread_response`).
THREAD_QUERY = ("after", "limit")
THREAD_PARAMETERS = [
    OpenApiParameter("after", int, description="Messages after this id."),
    OpenApiParameter("limit", int, description="Page size (default 20; larger is capped at 100)."),
]


class LocationInput(serializers.Serializer):
    latitude = serializers.FloatField(min_value=-90, max_value=90)
    longitude = serializers.FloatField(min_value=-180, max_value=180)


# What a participant may post (the PIN message is the system's own).
MESSAGE_INPUT_KINDS = [
    (kind.value, kind.label)
    for kind in (OrderMessage.Kind.TEXT, OrderMessage.Kind.LOCATION, OrderMessage.Kind.PHOTO)
]


class MessageInput(serializers.Serializer):
    kind = serializers.ChoiceField(
        choices=MESSAGE_INPUT_KINDS,
        default=OrderMessage.Kind.TEXT,
        help_text="`location` needs `location`; `photo` needs `photo_url`.",
    )
    body = serializers.CharField(
        max_length=5000, allow_blank=True, default="", trim_whitespace=True
    )
    attachments = serializers.ListField(
        child=serializers.CharField(max_length=2000),
        max_length=MAX_ATTACHMENTS,
        required=False,
        default=list,
        help_text="https URLs of images or files.",
    )
    location = LocationInput(required=False, help_text="A location share: where you are.")
    photo_url = serializers.CharField(
        max_length=2000, required=False, help_text="A photo message: an https URL of the photo."
    )

    def validate(self, data: dict) -> dict:
        kind = data["kind"]
        location = data.pop("location", None)
        photo_url = data.pop("photo_url", None)
        if kind == OrderMessage.Kind.LOCATION:
            if location is None:
                raise serializers.ValidationError({"location": ["Send latitude and longitude."]})
            data["data"] = {key: round(value, 6) for key, value in location.items()}
        elif location is not None:
            raise serializers.ValidationError({"location": ["Only with kind `location`."]})
        if kind == OrderMessage.Kind.PHOTO:
            if not photo_url:
                raise serializers.ValidationError({"photo_url": ["Send the photo's https URL."]})
            data["attachments"] = [photo_url, *data["attachments"]]
            data["data"] = {"url": photo_url}
        elif photo_url is not None:
            raise serializers.ValidationError({"photo_url": ["Only with kind `photo`."]})
        return data


class StaffMessageInput(MessageInput):
    author_name = serializers.CharField(max_length=200, required=False, default="Staff")


class MessageOutput(serializers.Serializer):
    id = serializers.CharField()
    author_role = serializers.ChoiceField(choices=OrderMessage.Role.values)
    author_name = serializers.CharField()
    body = serializers.CharField(help_text="Emails and phones of others are masked.")
    attachments = serializers.ListField(child=serializers.CharField())
    kind = serializers.ChoiceField(choices=OrderMessage.Kind.choices)
    data = serializers.DictField(
        help_text="A location's `latitude` and `longitude`, or a photo's `url`; else empty."
    )
    created_at = serializers.DateTimeField()


class MessagePageOutput(serializers.Serializer):
    results = MessageOutput(many=True)
    next = serializers.CharField(allow_null=True, help_text="The URL of newer messages, if any.")


def message_data(message: OrderMessage, *, viewer_role: str, viewer_ref: str = "") -> dict:
    body = message_body_for(message, viewer_role=viewer_role, viewer_ref=viewer_ref)
    return message_payload(message, body=body)


def thread_response(
    request: Request, order: Order, *, viewer_role: str, viewer_ref: str = ""
) -> Response:
    """`?after=<message id>` and `?limit=`: the next page of the thread, oldest first."""
    after_text = request.query_params.get("after")
    if after_text is not None and not is_id(after_text):
        raise ValidationFailed({"after": ["A message id."]})
    limit = page_limit(request)
    after = int(after_text) if after_text is not None else None
    rows = list(message_list(order=order, after=after)[: limit + 1])
    page = rows[:limit]
    next_url = None
    if len(rows) > limit:
        next_url = replace_query_param(request.build_absolute_uri(), "after", page[-1].pk)
    return Response(
        {
            "results": [
                message_data(m, viewer_role=viewer_role, viewer_ref=viewer_ref) for m in page
            ],
            "next": next_url,
        }
    )
