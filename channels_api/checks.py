"""System checks of the channel API's settings (`manage.py check`, run at every start)."""

from __future__ import annotations

from django.conf import settings
from django.core.checks import Error, register


@register()
def key_reminders_outlive_window(app_configs: object = None, **kwargs: object) -> list[Error]:
    """API-key reminders remember a warning by its outbox event (`channels_api.key_expiry`):
    events purged before a key leaves the warning window would warn that key again. So
    outbox retention, when on, must be longer than the window."""
    window, kept = settings.API_KEY_EXPIRY_WARNING_DAYS, settings.OUTBOX_RETENTION_DAYS
    if window > 0 and 0 < kept <= window:
        return [
            Error(
                f"OUTBOX_RETENTION_DAYS ({kept}) must be longer than "
                f"API_KEY_EXPIRY_WARNING_DAYS ({window}), or 0 (kept for ever).",
                hint="API-key reminders remember each warning by its outbox event: purged "
                "while the key is still in the window, the key would be warned again.",
                id="channels_api.E001",
            )
        ]
    return []
