"""Vouchers name the currency of their money (a fixed amount, a minimum subtotal).

Until now a fixed voucher's amount was checked to the default currency's precision and
then taken as a number in whatever channel it was used: 5.00 off in a USD channel was 5 off
in a JPY one. An existing voucher with money terms gets its channels' one currency when
its amounts are exact in it, and the default currency otherwise (it then applies only in
channels of that currency; the admin shows which). A percentage alone keeps no currency.
"""

from decimal import Decimal

from django.conf import settings
from django.db import migrations, models

import backoffice.fields
from backoffice.money import currency_minor_units


def _exact(amount: Decimal | None, currency: str) -> bool:
    return amount is None or amount == amount.quantize(
        Decimal(1).scaleb(-currency_minor_units(currency))
    )


def name_currencies(apps, schema_editor) -> None:
    Voucher = apps.get_model("orders", "Voucher")
    with_money = Voucher.objects.filter(
        models.Q(kind="fixed") | models.Q(min_subtotal__isnull=False)
    ).prefetch_related("channels")
    for voucher in with_money:
        currencies = {channel.currency for channel in voucher.channels.all()}
        currency = settings.DEFAULT_CURRENCY
        if len(currencies) == 1:
            (only,) = currencies
            amounts = (voucher.value if voucher.kind == "fixed" else None, voucher.min_subtotal)
            if all(_exact(amount, only) for amount in amounts):
                currency = only
        voucher.currency = currency
        voucher.save(update_fields=["currency"])


class Migration(migrations.Migration):
    dependencies = [
        ("orders", "0010_voucher_code_unique_ignoring_case"),
    ]

    operations = [
        migrations.AddField(
            model_name="voucher",
            name="currency",
            field=models.CharField(
                blank=True,
                default="",
                help_text=(
                    "Of the fixed amount and the minimum subtotal; the voucher applies only "
                    "in channels of this currency. Blank: the channels' currency (or the "
                    "default one)."
                ),
                max_length=3,
                validators=[backoffice.fields.currency_validator],
            ),
        ),
        migrations.AlterField(
            model_name="voucher",
            name="value",
            field=models.DecimalField(
                decimal_places=3,
                help_text="Percent (e.g. 12.5) or an amount in the voucher's currency.",
                max_digits=14,
            ),
        ),
        migrations.AlterField(
            model_name="voucher",
            name="min_subtotal",
            field=models.DecimalField(
                blank=True,
                decimal_places=3,
                help_text="In the voucher's currency.",
                max_digits=14,
                null=True,
            ),
        ),
        migrations.RunPython(name_currencies, migrations.RunPython.noop, elidable=True),
        migrations.AddConstraint(
            model_name="voucher",
            constraint=models.CheckConstraint(
                condition=models.Q(("kind", "percentage"), _negated=True)
                | models.Q(("value__lte", 100)),
                name="voucher_percentage_at_most_100",
            ),
        ),
        migrations.AddConstraint(
            model_name="voucher",
            constraint=models.CheckConstraint(
                condition=models.Q(("currency", ""), _negated=True)
                | (
                    models.Q(("kind", "fixed"), _negated=True)
                    & models.Q(("min_subtotal__isnull", True))
                ),
                name="voucher_money_terms_have_a_currency",
            ),
        ),
    ]
