"""App config for the channel API."""

from django.apps import AppConfig


class ChannelsApiConfig(AppConfig):
    name = "channels_api"
    verbose_name = "API keys and idempotency"

    def ready(self) -> None:
        from backoffice.versions.registry import watch
        from channels_api import checks, schema  # noqa: F401  (registers them)

        # Keys are cached per process (`channels_api.authentication`); stamping when a key
        # was last used is no change to it.
        watch("keys", "channels_api.ApiKey", ignore=("last_used_at",))
