"""Bearer API-key authentication: `Authorization: Bearer pk_...` or `sk_...`."""

from __future__ import annotations

import copy
import hmac
from datetime import datetime, timedelta

from django.utils import timezone
from rest_framework import authentication, exceptions
from rest_framework.request import Request

from backoffice.timefmt import rfc3339
from backoffice.versions.current import VersionedCache
from channels_api.models import ApiKey, hash_key

# `last_used_at` is written at most this often per key, so reads stay read-only.
LAST_USED_RESOLUTION = timedelta(minutes=1)
# Keys with their channel (its tax settings too), per process, by hash: a revoked key or a
# deactivated channel changes a version, so the next request reads it again. An expiry
# needs no change: it is compared with the clock on the cached key.
_KEYS: VersionedCache[ApiKey] = VersionedCache("keys", "channels")


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
        cached = _KEYS.get(digest, lambda: _key_by_hash(digest))
        # The lookup is by hash; the comparison below keeps it constant-time all the same.
        if cached is None or not hmac.compare_digest(cached.key_hash, digest):
            raise exceptions.AuthenticationFailed("The API key is not valid.")
        api_key = _request_copy(cached)
        if not api_key.is_active:
            raise exceptions.AuthenticationFailed("The API key has been revoked.")
        now = timezone.now()
        if api_key.expired(now):  # on the cached key: no read per request
            raise exceptions.AuthenticationFailed(
                f"The API key expired at {rfc3339(api_key.expires_at)}."
            )
        if api_key.channel is not None and not api_key.channel.active:
            raise exceptions.AuthenticationFailed("The API key's channel is not active.")
        self._touch(cached, now)
        api_key.last_used_at = cached.last_used_at
        return (None, api_key)

    def authenticate_header(self, request: Request) -> str:
        return f'{self.keyword} realm="api"'

    @staticmethod
    def _touch(api_key: ApiKey, now: datetime) -> None:
        """Stamp `last_used_at`, at most once a minute per key and process: the cached key
        carries the stamp, so the requests after it in this process write nothing."""
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


def _request_copy(api_key: ApiKey) -> ApiKey:
    """The request's own copy of a cached key and its channel: what one request sets on
    them never reaches another."""
    own = copy.copy(api_key)
    if api_key.channel is not None:
        own.channel = copy.copy(api_key.channel)
    return own
