"""Writes for webhook endpoints: create (the secret is returned once), change, rotate, delete."""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from backoffice.exceptions import ValidationFailed
from backoffice.outbox.locks import webhook_endpoint_lock, webhook_endpoint_lock_for_delete
from backoffice.outbox.models import ALL_EVENTS, EVENT_TYPES, WebhookEndpoint
from backoffice.outbox.url_guard import UnsafeUrl, url_check

SECRET_PREFIX = "whsec_"  # noqa: S105 - a prefix, not a secret
MAX_PREVIOUS_SECRET_SECONDS = 7 * 24 * 3600


def webhook_secret_generate() -> str:
    """A new signing secret: `whsec_` and 256 random bits."""
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def _clean_url(url: str) -> str:
    try:
        url_check(url, allow_private=settings.WEBHOOK_ALLOW_PRIVATE_URLS)
    except UnsafeUrl as error:
        raise ValidationFailed({"url": [str(error)]}) from error
    return url


def _clean_event_types(event_types: Iterable[str]) -> list[str]:
    chosen = list(dict.fromkeys(event_types))
    unknown = [name for name in chosen if name != ALL_EVENTS and name not in EVENT_TYPES]
    if not chosen or unknown:
        known = ", ".join([*EVENT_TYPES, ALL_EVENTS])
        raise ValidationFailed({"events": [f"Use one or more of {known}."]})
    return [ALL_EVENTS] if ALL_EVENTS in chosen else chosen


def webhook_endpoint_create(
    *, url: str, event_types: Iterable[str], channel_code: str = "", description: str = ""
) -> WebhookEndpoint:
    """Register a receiver. Its `secret` is generated here; callers show it once.

    The URL must be http(s) and, unless WEBHOOK_ALLOW_PRIVATE_URLS, resolve only to
    public addresses (ValidationFailed on `url`); event types must be known
    (ValidationFailed on `events`). Events recorded from now on are delivered to it.
    """
    return WebhookEndpoint.objects.create(
        url=_clean_url(url),
        event_types=_clean_event_types(event_types),
        channel_code=channel_code,
        description=description,
        secret=webhook_secret_generate(),
    )


def webhook_endpoint_update(
    *,
    endpoint: WebhookEndpoint,
    url: str | None = None,
    event_types: Iterable[str] | None = None,
    channel_code: str | None = None,
    description: str | None = None,
    active: bool | None = None,
) -> WebhookEndpoint:
    """Change what is given. Turning an endpoint back on clears its failure count.

    Turning it off abandons nothing at once: its open deliveries are abandoned when
    their next attempt comes up.
    """
    with transaction.atomic():
        endpoint = webhook_endpoint_lock(endpoint_id=endpoint.pk)
        if url is not None:
            endpoint.url = _clean_url(url)
        if event_types is not None:
            endpoint.event_types = _clean_event_types(event_types)
        if channel_code is not None:
            endpoint.channel_code = channel_code
        if description is not None:
            endpoint.description = description
        if active is True and not endpoint.active:
            endpoint.consecutive_failures = 0
            endpoint.disabled_at = None
        elif active is False and endpoint.active:
            endpoint.disabled_at = timezone.now()
        if active is not None:
            endpoint.active = active
        endpoint.save()
    return endpoint


def webhook_endpoint_rotate_secret(
    *,
    endpoint: WebhookEndpoint,
    previous_valid_for: timedelta | None = None,
    now: datetime | None = None,
) -> WebhookEndpoint:
    """Give the endpoint a new secret; the current one keeps signing too for a while.

    During that time (24 h by default, at most 7 days, 0 drops it at once) each
    delivery carries one `v1` signature per secret. Rotating again within it
    drops the oldest secret. Returns the endpoint with the new `secret`.
    """
    now = now or timezone.now()
    if previous_valid_for is None:
        previous_valid_for = timedelta(seconds=settings.WEBHOOK_PREVIOUS_SECRET_SECONDS)
    seconds = previous_valid_for.total_seconds()
    if not 0 <= seconds <= MAX_PREVIOUS_SECRET_SECONDS:
        raise ValidationFailed(
            {"previous_secret_valid_for": [f"Use 0 to {MAX_PREVIOUS_SECRET_SECONDS} seconds."]}
        )
    with transaction.atomic():
        endpoint = webhook_endpoint_lock(endpoint_id=endpoint.pk)
        if seconds:
            endpoint.previous_secret = endpoint.secret
            endpoint.previous_secret_expires_at = now + previous_valid_for
        else:
            endpoint.previous_secret = ""
            endpoint.previous_secret_expires_at = None
        endpoint.secret = webhook_secret_generate()
        endpoint.save()
    return endpoint


def webhook_endpoint_delete(*, endpoint: WebhookEndpoint) -> None:
    """Remove the endpoint with its delivery history; the events stay in the outbox.

    Under the endpoint's `FOR UPDATE` lock, taken first: a fan-out inserting deliveries
    to it is waited for (its deliveries are then deleted too), and a later one leaves
    the endpoint out. Deleting one already gone does nothing.
    """
    with transaction.atomic():
        locked = webhook_endpoint_lock_for_delete(endpoint_id=endpoint.pk)
        if locked is not None:
            locked.delete()
