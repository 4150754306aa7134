"""`manage.py check_stock`: verify the stock invariants; exits non-zero listing each problem."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from inventory.models import StockLevel
from inventory.selectors import stock_check


class Command(BaseCommand):
    help = (
        "Check that on_hand agrees with the stock ledger, allocated with the allocations, "
        "and that nothing is promised beyond what is on hand."
    )

    def handle(self, *args, **options) -> None:
        problems = stock_check()
        if problems:
            raise CommandError(
                f"{len(problems)} stock problem(s):\n" + "\n".join(f"- {p}" for p in problems)
            )
        self.stdout.write(f"Stock is consistent ({StockLevel.objects.count()} stock levels).")
