"""Writes for API keys: create (the full key is returned once) and revoke."""

from __future__ import annotations

import secrets
from datetime import datetime

from django.utils import timezone

from backoffice.exceptions import ValidationFailed
from catalog.models import Channel
from channels_api.models import ApiKey, hash_key

_PREFIXES = {ApiKey.Kind.PUBLISHABLE: "pk_", ApiKey.Kind.SECRET: "sk_"}


def api_key_create(
    *,
    kind: str,
    channel: Channel | None = None,
    name: str = "",
    rate_limit: int | None = None,
    expires_at: datetime | None = None,
) -> tuple[ApiKey, str]:
    """Create a key and return it with the full secret, which is not stored and never shown again.

    A publishable key must belong to a channel; a secret key may be limited to one. With
    `expires_at` (in the future) the key is refused from that moment (401).
    """
    if kind not in _PREFIXES:
        raise ValidationFailed({"kind": ["Use publishable or secret."]})
    if kind == ApiKey.Kind.PUBLISHABLE and channel is None:
        raise ValidationFailed({"channel": ["A publishable key belongs to a channel."]})
    if expires_at is not None and expires_at <= timezone.now():
        raise ValidationFailed({"expires_at": ["Must be in the future."]})
    api_key = ApiKey(
        kind=kind, channel=channel, name=name, rate_limit=rate_limit, expires_at=expires_at
    )
    raw_key = api_key_assign_secret(api_key=api_key)
    api_key.save()
    return api_key, raw_key


def api_key_assign_secret(*, api_key: ApiKey) -> str:
    """Give an unsaved key its random secret; store only the prefix and hash, return the secret."""
    raw_key = _PREFIXES[api_key.kind] + secrets.token_urlsafe(32)
    api_key.prefix = raw_key[:12]
    api_key.key_hash = hash_key(raw_key)
    return raw_key
