"""Bearer API-key authentication: `Authorization: Bearer pk_...` or `sk_...`."""

from __future__ import annotations

import hmac
from datetime import timedelta

from django.utils import timezone
from rest_framework import authentication, exceptions
from rest_framework.request import Request

from channels_api.models import ApiKey, hash_key

# `last_used_at` is written at most this often per key, so reads stay read-only.
LAST_USED_RESOLUTION = timedelta(minutes=1)


class ApiKeyAuthentication(authentication.BaseAuthentication):
    """Looks the key up by its hash; `request.user` is None and `request.auth` the ApiKey."""

    keyword = "Bearer"

    def authenticate(self, request: Request) -> tuple[None, ApiKey] | None:
        header = authentication.get_authorization_header(request).decode("latin-1")
        if not header:
            return None
        scheme, _, raw_key = header.partition(" ")
        raw_key = raw_key.strip()
        if scheme.lower() != self.keyword.lower() or not raw_key or len(raw_key) > 200:
            raise exceptions.AuthenticationFailed("Send 'Authorization: Bearer <API key>'.")
        digest = hash_key(raw_key)
        api_key = _key_by_hash(digest)
        # The lookup is by hash; the comparison below keeps it constant-time all the same.
        if api_key is None or not hmac.compare_digest(api_key.key_hash, digest):
            raise exceptions.AuthenticationFailed("The API key is not valid.")
        if not api_key.is_active:
            raise exceptions.AuthenticationFailed("The API key has been revoked.")
        if api_key.channel is not None and not api_key.channel.active:
            raise exceptions.AuthenticationFailed("The API key's channel is not active.")
        self._touch(api_key)
        return (None, api_key)

    def authenticate_header(self, request: Request) -> str:
        return f'{self.keyword} realm="api"'

    @staticmethod
    def _touch(api_key: ApiKey) -> None:
        now = timezone.now()
        if api_key.last_used_at and now - api_key.last_used_at < LAST_USED_RESOLUTION:
            return
        ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=now)
        api_key.last_used_at = now


def _key_by_hash(digest: str) -> ApiKey | None:
    """The key and its channel, in one statement: this runs on every API request.

    (One joined statement rather than two short ones: PostgreSQL, the part that does not
    scale out, does one round trip less per request; docs/performance.md.)
    """
    keys = ApiKey.objects.select_related("channel").filter(key_hash=digest)
    return next(iter(keys), None)
