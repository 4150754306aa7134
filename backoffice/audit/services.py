"""Write audit rows inside the caller's transaction, so a rolled-back change leaves none."""

from __future__ import annotations

from typing import Any

from backoffice.audit.models import AuditEntry


def audit_record(
    *, actor: str, action: str, target_type: str, target_id: object, changes: dict[str, Any]
) -> AuditEntry:
    """Record that `actor` did `action` to a target; `changes` holds what was sent or changed."""
    return AuditEntry.objects.create(
        actor=actor or "unknown",
        action=action,
        target_type=target_type,
        target_id=str(target_id),
        changes=changes,
    )
