#!/usr/bin/env python
"""Django's command-line utility for Backoffice."""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backoffice.settings")
    from django.conf import settings
    from django.core.exceptions import ImproperlyConfigured
    from django.core.management import execute_from_command_line

    from backoffice.local_env import local_env_apply

    local_env_apply()  # var/local.env, written by `make run`, for what the environment leaves unset
    try:
        # Read the settings before Django looks the command up, so that a configuration
        # error is the one message shown (not a KeyError for the command name first).
        settings.INSTALLED_APPS  # noqa: B018
    except ImproperlyConfigured as error:
        sys.exit(f"manage.py: {error}")
    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
