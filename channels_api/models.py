"""API keys (stored hashed) and stored idempotent responses."""

from __future__ import annotations

import hashlib
from datetime import datetime

from django.db import models
from django.utils import timezone

from catalog.models import Channel
from orders.models import FulfillerAccess


def hash_key(raw_key: str) -> str:
    """SHA-256 of the full key: keys carry 256 random bits, so no salt or stretching is needed."""
    return hashlib.sha256(raw_key.encode()).hexdigest()


class ApiKey(models.Model):
    """A credential for one integration: publishable (`pk_`, one channel) or secret (`sk_`)."""

    class Kind(models.TextChoices):
        PUBLISHABLE = "publishable", "Publishable"
        SECRET = "secret", "Secret"

    name = models.CharField(max_length=200, blank=True)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    channel = models.ForeignKey(
        Channel, null=True, blank=True, on_delete=models.CASCADE, related_name="api_keys"
    )
    prefix = models.CharField(max_length=16, help_text="The visible start of the key.")
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    rate_limit = models.PositiveIntegerField(
        null=True, blank=True, help_text="Requests per minute; empty uses API_RATE_LIMIT."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="From this moment the key is refused (401); empty: it does not expire.",
    )

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(kind="publishable") | models.Q(channel__isnull=False),
                name="publishable_key_has_channel",
            )
        ]
        verbose_name = "API key"

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.name or self.kind})"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    def expired(self, now: datetime) -> bool:
        """Whether the key's expiry has come (never, without one)."""
        return self.expires_at is not None and self.expires_at <= now

    @property
    def actor(self) -> str:
        """How audit rows name this key."""
        return f"api_key:{self.prefix}"

    def revoke(self) -> None:
        self.revoked_at = timezone.now()
        self.save(update_fields=["revoked_at"])


class IdempotencyRecord(models.Model):
    """The first response to a POST with an `Idempotency-Key`, replayed for repeats.

    Scoped to the credential that sent it: an API key, or a courier's fulfiller token.
    """

    api_key = models.ForeignKey(ApiKey, null=True, on_delete=models.CASCADE, related_name="+")
    fulfiller_access = models.ForeignKey(
        FulfillerAccess, null=True, on_delete=models.CASCADE, related_name="+"
    )
    key = models.CharField(max_length=255)
    request_fingerprint = models.CharField(max_length=64)
    response_status = models.PositiveSmallIntegerField(null=True)
    response_body = models.JSONField(null=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["api_key", "key"], name="idempotency_key_unique"),
            models.UniqueConstraint(
                fields=["fulfiller_access", "key"], name="idempotency_key_unique_per_fulfiller"
            ),
            models.CheckConstraint(
                condition=models.Q(api_key__isnull=False, fulfiller_access__isnull=True)
                | models.Q(api_key__isnull=True, fulfiller_access__isnull=False),
                name="idempotency_record_has_one_scope",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.key} ({self.response_status or 'running'})"
