"""OpenAPI: describe Bearer API-key authentication, and which of our views return lists."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema


class ApiKeyAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "channels_api.authentication.ApiKeyAuthentication"
    name = "apiKey"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "A publishable key (pk_...) for /store, a secret (sk_...) for /admin.",
        }


class ApiAutoSchema(AutoSchema):
    """Our list endpoints are GETs of views that paginate; detail views set no paginator."""

    def _is_list_view(self, serializer=None) -> bool:
        if self.method == "GET" and getattr(self.view, "pagination_class", None) is not None:
            return True
        return super()._is_list_view(serializer)
