"""An order's timeline in words, for staff: what each event says beyond its type."""

from __future__ import annotations

from backoffice.money import money_format
from orders.models import OrderEvent

Type = OrderEvent.Type


def _address(address: dict | None) -> str:
    if not address:
        return "none"
    parts = [address.get(key, "") for key in ("name", "line1", "city", "postal_code", "country")]
    return ", ".join(part for part in parts if part)


def event_summary(event: OrderEvent, currency: str) -> str:
    """One line: the tracking of a shipment, the amount of a refund, the text of a note..."""
    data = event.data or {}
    if event.type in (Type.SHIPPED, Type.DELIVERED, Type.FULFILLMENT_CREATED, Type.PACKED):
        text = f"Fulfillment {data.get('fulfillment_id', '')}"
        if data.get("warehouse"):
            text += f" from {data['warehouse']}"
        if data.get("tracking_number"):
            text += f": {data.get('carrier', '')} {data['tracking_number']}".rstrip()
        return text
    if event.type == Type.REFUNDED and data.get("amount"):
        text = money_format(data["amount"], data.get("currency") or currency)
        return f"{text}: {data['reason']}" if data.get("reason") else text
    if event.type == Type.RETURNED:
        units = ", ".join(f"{line['quantity']} x {line['sku']}" for line in data.get("lines", []))
        restocked = "back in stock" if data.get("restock") else "not restocked"
        return f"{units} ({restocked}): {data.get('reason', '')}"
    if event.type == Type.ADDRESS_CHANGED:
        return f"Now {_address(data.get('to'))} (was {_address(data.get('from'))})"
    if event.type == Type.NOTE_ADDED:
        return data.get("note", "")
    if event.type == Type.CANCELLED and data.get("reason"):
        return data["reason"]
    if event.type == Type.COURIER_UPDATE:
        return " ".join(str(data.get(key, "")) for key in ("status", "note")).strip()
    return ""
