"""The bench's one table: what its baseline endpoint inserts (`bench/baseline.py`).

Not a product table: only `bench.settings` installs this app, so only the bench's
database has it (its migration runs in `make bench`).
"""

from django.db import models


class BaselineNote(models.Model):
    name = models.CharField(max_length=100)
    quantity = models.PositiveIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        app_label = "bench"

    def __str__(self) -> str:
        return f"{self.name} x {self.quantity}"
