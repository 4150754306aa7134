"""Warehouses and the channels they serve, in routing priority."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction

from backoffice.exceptions import ValidationFailed
from catalog.models import Channel
from inventory.codes import WAREHOUSE_CODE_TAKEN, code_is
from inventory.models import (
    Warehouse,
    WarehouseChannel,
)


def warehouse_create(
    *,
    code: str,
    name: str = "",
    kind: str = Warehouse.Kind.WAREHOUSE,
    channels: Iterable[Channel] = (),
    address: dict | None = None,
    active: bool = True,
) -> Warehouse:
    """Create a warehouse serving the given channels, in that priority order.

    `code` is kept as typed; a code that differs from an existing one only in case is
    taken (ValidationFailed, field `code`), also when two creations race.
    """
    taken = ValidationFailed({"code": [WAREHOUSE_CODE_TAKEN]})
    if Warehouse.objects.filter(code_is(code)).exists():
        raise taken
    warehouse = Warehouse(
        code=code, name=name or code, kind=kind, address=address or {}, active=active
    )
    _full_clean(warehouse)
    try:
        with transaction.atomic():
            warehouse.save()
            warehouse_set_channels(warehouse=warehouse, channels=channels)
    except IntegrityError as error:  # the same code, created meanwhile
        raise taken from error
    return warehouse


def warehouse_update(
    *,
    warehouse: Warehouse,
    fields: dict[str, Any],
    channels: Iterable[Channel] | None = None,
) -> Warehouse:
    """Change a warehouse's name, kind, address or active flag; `channels` replaces its routing.

    The code stays: stock syncs and other systems name the warehouse by it.
    """
    unknown = set(fields) - {"name", "kind", "address", "active"}
    if unknown:
        raise ValidationFailed({name: ["This field cannot be changed."] for name in unknown})
    with transaction.atomic():
        # NO KEY UPDATE: a row inserted that refers to the warehouse (a stock row, a
        # fulfillment, a till sale) takes KEY SHARE on it, and must not wait for this edit.
        warehouse = Warehouse.objects.select_for_update(no_key=True).get(pk=warehouse.pk)
        for name, value in fields.items():
            setattr(warehouse, name, value if name != "address" else value or {})
        _full_clean(warehouse)
        warehouse.save()
        if channels is not None:
            warehouse_set_channels(warehouse=warehouse, channels=channels)
    return warehouse


def warehouse_set_channels(*, warehouse: Warehouse, channels: Iterable[Channel]) -> None:
    """Replace the channels a warehouse serves; the list order is its routing priority."""
    with transaction.atomic():
        WarehouseChannel.objects.filter(warehouse=warehouse).delete()
        WarehouseChannel.objects.bulk_create(
            WarehouseChannel(warehouse=warehouse, channel=channel, priority=index)
            for index, channel in enumerate(channels)
        )


def _full_clean(warehouse: Warehouse) -> None:
    try:
        # Uniqueness is the service's check and the database's constraint.
        warehouse.full_clean(validate_unique=False, validate_constraints=False)
    except DjangoValidationError as error:
        raise ValidationFailed(error.message_dict) from error
