"""The versions' triggers count a kind once a statement, and only for rows that changed.

The statement-level triggers of 0001's time counted every writing statement, also one
that changed no row; `triggers.triggers_install` now drops them and creates the
row-level ones (`backoffice/versions/triggers.py`) for the tables and columns that exist
at this point. It runs again after every `migrate` (post_migrate), so tables and columns
that later migrations add are watched by the end of the same `migrate`.
"""

from django.db import migrations


def install(apps, schema_editor) -> None:
    from backoffice.versions.triggers import triggers_install

    triggers_install(using=schema_editor.connection.alias)


class Migration(migrations.Migration):
    dependencies = [("versions", "0001_initial")]

    operations = [migrations.RunPython(install, migrations.RunPython.noop, elidable=True)]
