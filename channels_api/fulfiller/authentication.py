"""Bearer fulfiller-token authentication: `Authorization: Bearer ft_...`."""

from __future__ import annotations

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from delivery.couriers import courier_authenticate
from orders.courier_access.services import fulfiller_access_authenticate
from orders.models import FulfillerAccess


class FulfillerTokenAuthentication(authentication.BaseAuthentication):
    """`request.auth` is the FulfillerAccess; expired, revoked or unknown tokens are 401."""

    keyword = "Bearer"

    def authenticate(self, request: Request) -> tuple[None, FulfillerAccess] | None:
        header = authentication.get_authorization_header(request).decode("latin-1")
        if not header:
            return None
        scheme, _, raw = header.partition(" ")
        raw = raw.strip()
        if scheme.lower() != self.keyword.lower() or not raw:
            raise exceptions.AuthenticationFailed("Send 'Authorization: Bearer <fulfiller token>'.")
        # A courier of the shop first (one query: every location post comes this way), then a
        # token issued for some orders.
        courier = courier_authenticate(raw=raw)
        access = courier.access if courier else fulfiller_access_authenticate(raw=raw)
        if access is None:
            raise exceptions.AuthenticationFailed("The token is not valid or has expired.")
        return (None, access)

    def authenticate_header(self, request: Request) -> str:
        return f'{self.keyword} realm="fulfiller"'


class IsFulfiller(BasePermission):
    message = "This endpoint needs a fulfiller (ft_) token."

    def has_permission(self, request: Request, view: object) -> bool:
        return isinstance(request.auth, FulfillerAccess)


class IsCourier(IsFulfiller):
    message = "This endpoint needs a courier's token (ft_), not one issued for some orders."

    def has_permission(self, request: Request, view: object) -> bool:
        return super().has_permission(request, view) and hasattr(request.auth, "_courier")


class FulfillerTokenScheme(OpenApiAuthenticationExtension):
    target_class = "channels_api.fulfiller.authentication.FulfillerTokenAuthentication"
    name = "fulfillerToken"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "A courier's fulfiller token (ft_...), for /fulfiller.",
        }
