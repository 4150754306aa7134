"""Admin serializers for warehouses, stock levels, stock changes and the ledger.

Input serializers only validate shapes; the inventory services decide and write.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from inventory.codes import WAREHOUSE_CODE_MESSAGE, WAREHOUSE_CODE_PATTERN
from inventory.models import StockLevel, StockMovement, Warehouse
from inventory.services import BULK_MAX_CHANGES, MAX_ON_HAND, StockChange, StockChangeResult


class AddressInput(serializers.Serializer):
    """The contract's address; a warehouse's own name is enough, so `name` is optional here."""

    name = serializers.CharField(max_length=200, required=False, allow_blank=True)
    line1 = serializers.CharField(max_length=200)
    line2 = serializers.CharField(max_length=200, required=False, allow_blank=True)
    city = serializers.CharField(max_length=100)
    postal_code = serializers.CharField(max_length=20)
    region = serializers.CharField(max_length=100, required=False, allow_blank=True)
    country = serializers.RegexField(r"^[A-Z]{2}$", help_text="ISO 3166-1 alpha-2, e.g. US.")
    phone = serializers.CharField(max_length=32, required=False, allow_blank=True)


class WarehouseOutput(serializers.ModelSerializer):
    channels = serializers.SerializerMethodField()

    class Meta:
        model = Warehouse
        fields = ["code", "name", "kind", "address", "active", "channels"]

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_channels(self, warehouse: Warehouse) -> list[str]:
        """Channel codes in routing priority; a channel-limited key sees only its own."""
        limited = self.context.get("limited_channel")
        return [
            route.channel.code
            for route in warehouse.routes
            if limited is None or route.channel_id == limited.pk
        ]


class WarehouseUpdateInput(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    kind = serializers.ChoiceField(choices=Warehouse.Kind.choices)
    address = AddressInput(allow_null=True)
    active = serializers.BooleanField()
    channels = serializers.ListField(
        child=serializers.CharField(max_length=50),
        max_length=100,
        help_text="Channel codes, highest routing priority first.",
    )

    def validate_channels(self, codes: list[str]) -> list[str]:
        if len(codes) != len(set(codes)):
            raise serializers.ValidationError("Each channel may appear once.")
        return codes


class WarehouseInput(WarehouseUpdateInput):
    code = serializers.RegexField(
        WAREHOUSE_CODE_PATTERN,
        max_length=50,
        error_messages={"invalid": WAREHOUSE_CODE_MESSAGE},
        help_text="As merchants type it, e.g. WH-EAST-01; unique and found ignoring case.",
    )
    name = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    kind = serializers.ChoiceField(choices=Warehouse.Kind.choices, default=Warehouse.Kind.WAREHOUSE)
    address = AddressInput(required=False, allow_null=True)
    active = serializers.BooleanField(default=True)
    channels = serializers.ListField(
        child=serializers.CharField(max_length=50),
        max_length=100,
        default=list,
        help_text="Channel codes, highest routing priority first.",
    )


class StockLevelOutput(serializers.ModelSerializer):
    sku = serializers.CharField(source="variant.sku")
    warehouse = serializers.CharField(source="warehouse.code")
    reserved = serializers.IntegerField(help_text="Held by carts whose holds have not expired.")
    available = serializers.IntegerField(help_text="on_hand - allocated - reserved, at least 0.")

    class Meta:
        model = StockLevel
        fields = ["sku", "warehouse", "on_hand", "allocated", "reserved", "available", "updated_at"]


class StockMovementOutput(serializers.ModelSerializer):
    id = serializers.CharField()
    sku = serializers.CharField(source="stock_level.variant.sku")
    warehouse = serializers.CharField(source="stock_level.warehouse.code")

    class Meta:
        model = StockMovement
        fields = [
            "id",
            "sku",
            "warehouse",
            "delta",
            "on_hand_after",
            "reason",
            "note",
            "actor",
            "reference",
            "created_at",
        ]


class StockSetInput(serializers.Serializer):
    """A stocktake: the counted quantity replaces `on_hand`; the ledger gets the difference."""

    on_hand = serializers.IntegerField(min_value=0, max_value=MAX_ON_HAND)
    reason = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")
    reference = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")


class StockTransferInput(serializers.Serializer):
    sku = serializers.CharField(max_length=64)
    source = serializers.CharField(max_length=50, help_text="The warehouse the units leave.")
    destination = serializers.CharField(max_length=50, help_text="The warehouse they go to.")
    quantity = serializers.IntegerField(min_value=1, max_value=MAX_ON_HAND)
    note = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class StockTransferOutput(serializers.Serializer):
    """Both ledger lines of a transfer and the reference they share."""

    reference = serializers.CharField()
    out = StockMovementOutput()
    into = StockMovementOutput()


class StockAdjustmentInput(serializers.Serializer):
    sku = serializers.CharField(max_length=64)
    warehouse = serializers.CharField(max_length=50)
    delta = serializers.IntegerField(
        min_value=-MAX_ON_HAND, max_value=MAX_ON_HAND, help_text="Units added (or removed)."
    )
    reason = serializers.CharField(max_length=500, help_text="Free text, kept in the ledger.")
    kind = serializers.ChoiceField(
        choices=StockMovement.Reason.choices,
        default=StockMovement.Reason.ADJUSTMENT,
        help_text="The ledger reason.",
    )
    reference = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")

    def validate_delta(self, delta: int) -> int:
        if delta == 0:
            raise serializers.ValidationError("A movement must change the count.")
        return delta

    def to_change(self) -> StockChange:
        data = self.validated_data
        return StockChange(
            sku=data["sku"],
            warehouse=data["warehouse"],
            delta=data["delta"],
            kind=data["kind"],
            note=data["reason"],
            reference=data["reference"],
        )


class StockBulkItemInput(serializers.Serializer):
    """One item of a bulk sync: `on_hand` (a count) or `delta` (an adjustment)."""

    sku = serializers.CharField(max_length=64)
    warehouse = serializers.CharField(max_length=50)
    on_hand = serializers.IntegerField(min_value=0, max_value=MAX_ON_HAND, required=False)
    delta = serializers.IntegerField(min_value=-MAX_ON_HAND, max_value=MAX_ON_HAND, required=False)
    reason = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")
    kind = serializers.ChoiceField(
        choices=StockMovement.Reason.choices, default=StockMovement.Reason.ADJUSTMENT
    )
    reference = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")

    def validate(self, data: dict) -> dict:
        if ("on_hand" in data) == ("delta" in data):
            raise serializers.ValidationError(
                {"on_hand": "Send either on_hand (a count) or delta (an adjustment)."}
            )
        if data.get("delta") == 0:
            raise serializers.ValidationError({"delta": "A movement must change the count."})
        return data

    def to_change(self) -> StockChange:
        data = self.validated_data
        return StockChange(
            sku=data["sku"],
            warehouse=data["warehouse"],
            on_hand=data.get("on_hand"),
            delta=data.get("delta"),
            kind=data["kind"],
            note=data["reason"],
            reference=data["reference"],
        )


class StockBulkInput(serializers.Serializer):
    items = serializers.ListField(
        child=serializers.JSONField(),
        allow_empty=False,
        max_length=BULK_MAX_CHANGES,
        help_text=(
            f'Up to {BULK_MAX_CHANGES} of {{"sku", "warehouse", "on_hand"}} or '
            '{"sku", "warehouse", "delta", "reason"?, "kind"?}.'
        ),
    )


class StockBulkResultOutput(serializers.Serializer):
    """Schema of one per-item result of a bulk sync."""

    index = serializers.IntegerField()
    sku = serializers.CharField(allow_null=True)
    warehouse = serializers.CharField(allow_null=True)
    status = serializers.ChoiceField(choices=["ok", "error"])
    on_hand = serializers.IntegerField(required=False)
    code = serializers.CharField(required=False)
    detail = serializers.CharField(required=False)
    errors = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()), required=False
    )


class StockBulkOutput(serializers.Serializer):
    results = StockBulkResultOutput(many=True)


def bulk_item_invalid(index: int, raw: Any, errors: Any) -> dict:
    """The result of an item whose shape is wrong: `invalid`, with its field errors."""
    item = raw if isinstance(raw, dict) else {}
    return {
        "index": index,
        "sku": _text_or_none(item.get("sku")),
        "warehouse": _text_or_none(item.get("warehouse")),
        "status": "error",
        "code": "invalid",
        "detail": "The item has invalid fields.",
        "errors": _field_errors(errors),
    }


def bulk_item_result(index: int, result: StockChangeResult) -> dict:
    """The result of an item the services applied or refused."""
    body: dict[str, Any] = {
        "index": index,
        "sku": result.change.sku,
        "warehouse": result.change.warehouse,
        "status": "ok" if result.ok else "error",
    }
    if result.ok:
        body["on_hand"] = result.on_hand
    else:
        body["code"] = result.error.code
        body["detail"] = result.error.detail
        if "errors" in result.error.extra:
            body["errors"] = result.error.extra["errors"]
    return body


def _field_errors(errors: Any) -> dict[str, list[str]]:
    if isinstance(errors, list):
        errors = {"non_field_errors": errors}
    return {
        str(field): [str(message) for message in messages]
        if isinstance(messages, list)
        else [str(messages)]
        for field, messages in errors.items()
    }


def _text_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) else None
