"""Which key kind may call which audience of the API."""

from __future__ import annotations

from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from channels_api.models import ApiKey


class IsPublishableKey(BasePermission):
    """Store endpoints: a channel's publishable key."""

    message = "This endpoint needs a publishable (pk_) key."

    def has_permission(self, request: Request, view: object) -> bool:
        api_key = request.auth
        return isinstance(api_key, ApiKey) and api_key.kind == ApiKey.Kind.PUBLISHABLE


class IsSecretKey(BasePermission):
    """Admin endpoints: a secret key."""

    message = "This endpoint needs a secret (sk_) key."

    def has_permission(self, request: Request, view: object) -> bool:
        api_key = request.auth
        return isinstance(api_key, ApiKey) and api_key.kind == ApiKey.Kind.SECRET


class IsUnrestrictedSecretKey(IsSecretKey):
    """Admin writes that span channels (creating channels, warehouses): a key not limited to one."""

    message = "This action needs a secret key that is not limited to one channel."

    def has_permission(self, request: Request, view: object) -> bool:
        return super().has_permission(request, view) and request.auth.channel_id is None


class SignedByPaymentProvider(BasePermission):
    """A payment provider's webhook: no API key; the provider signs each event, and the
    service verifies that signature against the raw body before reading anything."""

    def has_permission(self, request: Request, view: object) -> bool:
        return True
