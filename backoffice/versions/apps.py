"""App config for the versions: installs the triggers after every migrate."""

from django.apps import AppConfig
from django.db.models.signals import post_migrate


class VersionsConfig(AppConfig):
    name = "backoffice.versions"
    label = "versions"
    verbose_name = "Versions of reference data"

    def ready(self) -> None:
        from backoffice.sql import statement_cache_widen

        statement_cache_widen()  # the hot paths' large statements parsed once (backoffice/sql.py)
        from backoffice.versions import tasks  # noqa: F401  (registers the compaction task)
        from backoffice.versions.triggers import triggers_install

        # After every `migrate` (a test database built, a flush): the triggers follow the
        # watched models' columns as they are now. Once per migrate (this app's signal,
        # sent after every app is migrated), not once per installed app.
        post_migrate.connect(triggers_install, sender=self, dispatch_uid="versions-triggers")
