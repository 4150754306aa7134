"""The units held counted on the stock row: `reserved_units`, backfilled from the holds."""

from django.db import migrations, models

BACKFILL = (
    "UPDATE inventory_stocklevel SET reserved_units = COALESCE(("
    "SELECT SUM(r.quantity) FROM inventory_reservation r "
    "WHERE r.stock_level_id = inventory_stocklevel.id), 0)"
)


class Migration(migrations.Migration):
    dependencies = [
        ("inventory", "0003_stock_transfer_permission"),
    ]

    operations = [
        migrations.AddField(
            model_name="stocklevel",
            name="reserved_units",
            field=models.IntegerField(default=0),
        ),
        # Every reservation row, expired or not: the counter's own meaning (inventory.models).
        migrations.RunSQL(BACKFILL, migrations.RunSQL.noop),
        migrations.AddConstraint(
            model_name="stocklevel",
            constraint=models.CheckConstraint(
                condition=models.Q(reserved_units__gte=0), name="stock_reserved_not_negative"
            ),
        ),
    ]
