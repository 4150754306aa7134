# The retention purge's index. On PostgreSQL it is built CONCURRENTLY, so a large
# deliveries table keeps taking writes while it builds; elsewhere (SQLite) plainly.

from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models


class AddIndexWithoutBlockingWrites(migrations.AddIndex):
    def plain_or_concurrent(self, schema_editor) -> migrations.AddIndex:
        if schema_editor.connection.vendor == "postgresql":
            return AddIndexConcurrently(self.model_name, self.index)
        return migrations.AddIndex(self.model_name, self.index)

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        operation = self.plain_or_concurrent(schema_editor)
        operation.database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        operation = self.plain_or_concurrent(schema_editor)
        operation.database_backwards(app_label, schema_editor, from_state, to_state)


class Migration(migrations.Migration):
    atomic = False  # CREATE INDEX CONCURRENTLY cannot run inside a transaction

    dependencies = [
        ('outbox', '0003_webhook_secrets_encrypted'),
    ]

    operations = [
        AddIndexWithoutBlockingWrites(
            model_name='webhookdelivery',
            index=models.Index(condition=models.Q(('status__in', ['succeeded', 'abandoned'])), fields=['updated_at'], name='webhook_delivery_finished'),
        ),
    ]
