"""Voucher codes unique ignoring case (an index on UPPER(code), which `code__iexact` uses).

Refuses to run while two vouchers share a code in different cases, naming them: which
one to rename is the merchant's call (orders keep the code they were placed with).
"""

import django.db.models.functions.text
from django.db import migrations, models
from django.db.models import Count
from django.db.models.functions import Upper


def refuse_duplicates(apps, schema_editor) -> None:
    Voucher = apps.get_model("orders", "Voucher")
    clashes = (
        Voucher.objects.annotate(folded=Upper("code"))
        .values("folded")
        .annotate(count=Count("id"))
        .filter(count__gt=1)
        .values_list("folded", flat=True)
    )
    groups = [
        sorted(Voucher.objects.filter(code__iexact=folded).values_list("code", flat=True))
        for folded in clashes
    ]
    if groups:
        listed = "; ".join(", ".join(codes) for codes in sorted(groups))
        raise RuntimeError(
            "Voucher codes must be unique ignoring case, and these differ only in case: "
            f"{listed}. Rename (or delete) all but one of each in the admin, then migrate again."
        )


class Migration(migrations.Migration):
    dependencies = [
        ("orders", "0009_orderevent_type_payments_and_delivery"),
    ]

    operations = [
        migrations.RunPython(refuse_duplicates, migrations.RunPython.noop, elidable=True),
        migrations.AlterField(
            model_name="voucher",
            name="code",
            field=models.CharField(max_length=50),
        ),
        migrations.AddConstraint(
            model_name="voucher",
            constraint=models.UniqueConstraint(
                django.db.models.functions.text.Upper("code"),
                name="voucher_code_unique_ignoring_case",
                violation_error_message=(
                    "A voucher with this code exists (codes are unique ignoring case)."
                ),
            ),
        ),
    ]
