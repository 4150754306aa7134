"""Per-item counters (`ItemVersion`), e.g. the stock of one product; their triggers are
installed after the migrate, with the others (`triggers.triggers_install`)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("versions", "0002_row_triggers")]

    operations = [
        migrations.CreateModel(
            name="ItemVersion",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("name", models.CharField(max_length=30)),
                ("item", models.BigIntegerField()),
                ("slot", models.IntegerField()),
                ("value", models.BigIntegerField(default=0)),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(fields=("name", "item", "slot"), name="item_version_unique")
                ],
            },
        ),
    ]
