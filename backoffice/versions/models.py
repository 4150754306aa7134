"""Change counters of watched data, written by database triggers (`triggers`)."""

from __future__ import annotations

from django.db import models


class DataVersion(models.Model):
    """A counter of changes to data of kind `name`, written by one database session.

    `slot` is the writing session's `pg_backend_pid()` (0 on SQLite, and for the folded
    counters of ended sessions); each writing statement adds a random weight to `value`.
    A kind's version is SUM(value) over its rows (`backoffice.versions.current`).
    """

    name = models.CharField(max_length=30)
    slot = models.IntegerField()
    value = models.BigIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["name", "slot"], name="data_version_unique")]

    def __str__(self) -> str:
        return f"{self.name}@{self.slot} = {self.value}"


class ItemVersion(models.Model):
    """A counter of changes to the data of kind `name` about one item (e.g. the stock of
    one product: `item` is its id), written by one database session (`slot`, as above).

    An item's version is SUM(value) over its rows (`backoffice.versions.current`
    `item_versions`): a change to one item's data leaves every other item's version as it
    was, so a cache keyed by it (a product's page) survives the other items' changes.
    `item` is a plain number, no foreign key: the trigger that writes it takes no lock on
    the item's row.
    """

    name = models.CharField(max_length=30)
    item = models.BigIntegerField()
    slot = models.IntegerField()
    value = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["name", "item", "slot"], name="item_version_unique")
        ]

    def __str__(self) -> str:
        return f"{self.name}:{self.item}@{self.slot} = {self.value}"
