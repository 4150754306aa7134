"""Append-only audit rows."""

from __future__ import annotations

from django.db import models


class AuditEntry(models.Model):
    """One change by one actor ("staff:alice", "api_key:sk_AbC..."), with what changed."""

    actor = models.CharField(max_length=150, db_index=True)
    action = models.CharField(max_length=50)
    target_type = models.CharField(max_length=50, db_index=True)
    target_id = models.CharField(max_length=100, db_index=True)
    changes = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-id"]
        verbose_name_plural = "audit entries"

    def __str__(self) -> str:
        return f"{self.actor} {self.action} {self.target_type}:{self.target_id}"
