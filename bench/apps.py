from django.apps import AppConfig


class BenchConfig(AppConfig):
    """The bench's own table (its baseline endpoint's); installed by `bench.settings` only."""

    name = "bench"
    label = "bench"
    default_auto_field = "django.db.models.BigAutoField"
