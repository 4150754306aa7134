"""The channel API's system checks refuse settings that would break a promise."""

from __future__ import annotations

import pytest
from django.core.checks import run_checks


def _ids() -> set[str]:
    return {message.id for message in run_checks()}


def test_defaults_pass():
    assert "channels_api.E001" not in _ids()


@pytest.mark.parametrize(("kept", "window"), [(14, 14), (7, 14), (1, 30)])
def test_outbox_purged_within_the_reminder_window_is_refused(settings, kept, window):
    settings.OUTBOX_RETENTION_DAYS = kept
    settings.API_KEY_EXPIRY_WARNING_DAYS = window

    assert "channels_api.E001" in _ids()


@pytest.mark.parametrize(("kept", "window"), [(15, 14), (0, 14), (3, 0)])
def test_retention_longer_kept_for_ever_or_reminders_off_pass(settings, kept, window):
    settings.OUTBOX_RETENTION_DAYS = kept
    settings.API_KEY_EXPIRY_WARNING_DAYS = window

    assert "channels_api.E001" not in _ids()
