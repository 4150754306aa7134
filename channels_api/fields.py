"""Serializer fields shared by both audiences: money in and out, codes that name objects."""

from __future__ import annotations

from decimal import Decimal

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from backoffice.money import money_dict

# What the columns behind input fields hold, so that input is refused by name before the
# database refuses it without one: an email column. (Counts and limits: the kernel's
# `backoffice.fields.COUNT_MAX`, the services' own bound.)
EMAIL_MAX_LENGTH = 254


class MoneyOutput(serializers.Serializer):
    """Schema of the money object `{"amount": "19.99", "currency": "USD"}`."""

    amount = serializers.CharField()
    currency = serializers.CharField()


class MediaOutput(serializers.ListField):
    """Picture URLs. Uploads kept in the local media folder have URLs relative to this host:
    they are made absolute with the request's host, so every client can load them."""

    child = serializers.URLField()

    def to_representation(self, urls: list[str]) -> list[str]:
        request = self.context.get("request")
        if request is None:
            return list(urls)
        return [request.build_absolute_uri(url) if url.startswith("/") else url for url in urls]


def money(amount: Decimal | None, currency: str) -> dict[str, str] | None:
    return None if amount is None else money_dict(amount, currency)


@extend_schema_field({"type": "string", "pattern": r"^\d+(\.\d+)?$", "example": "19.99"})
class AmountInput(serializers.Field):
    """A decimal amount sent as a string (or an integer); floats are refused, never rounded."""

    default_error_messages = {
        "float": 'Send amounts as decimal strings, e.g. "19.99".',
        "invalid": "Not a decimal amount.",
    }

    def to_internal_value(self, data: object) -> str:
        if isinstance(data, bool | float):
            self.fail("float")
        if not isinstance(data, str | int):
            self.fail("invalid")
        return str(data)

    def to_representation(self, value: object) -> str:
        return str(value)
