"""The checkout's two calls under the hot stock row, as PostgreSQL functions
(`inventory.stock_functions`). Installed again after every `migrate` (the app's
post_migrate), so a later change of their text needs no migration of its own."""

from django.db import migrations


def install(apps, schema_editor) -> None:
    from inventory.stock_functions import stock_functions_install

    stock_functions_install(using=schema_editor.connection.alias)


def uninstall(apps, schema_editor) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    from inventory.stock_functions import NAMES

    with schema_editor.connection.cursor() as cursor:
        for name in NAMES:
            cursor.execute(f"DROP FUNCTION IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [("inventory", "0005_allocation_checkout_age")]

    operations = [migrations.RunPython(install, uninstall, elidable=True)]
