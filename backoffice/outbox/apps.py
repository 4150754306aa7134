"""App config for the outbox."""

from django.apps import AppConfig


class OutboxConfig(AppConfig):
    name = "backoffice.outbox"
    label = "outbox"
    verbose_name = "Domain events"
