"""App config for the channel API."""

from django.apps import AppConfig


class ChannelsApiConfig(AppConfig):
    name = "channels_api"
    verbose_name = "API keys and idempotency"

    def ready(self) -> None:
        from channels_api import schema  # noqa: F401  (registers the auth scheme)
