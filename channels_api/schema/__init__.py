"""OpenAPI: how the API describes itself (drf-spectacular's AutoSchema and extensions)."""

from channels_api.schema.autoschema import ApiAutoSchema, ApiKeyAuthenticationScheme
from channels_api.schema.problems import raises

__all__ = ["ApiAutoSchema", "ApiKeyAuthenticationScheme", "raises"]
