"""Order messages: one thread per order between the customer, staff, the courier and the system.

The author's role and name always come from the credential that posts, never from the
request body. Bodies are stored as written; `message_body_for` masks email addresses
and phone numbers for every viewer except staff and the message's own author, so no
participant learns another's contact details. A message has a kind: text, a location
share (`data` holds the coordinates, erased with the delivery's track: see
docs/delivery.md), a photo (its https URL in `data` and `attachments`), or the
delivery PIN, which only the customer and staff read (the courier must be told it at
the door). Each new message records
`message.created` in the outbox under the order's row lock (the per-order sequence
cannot race).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import URLValidator
from django.db import transaction
from django.db.models import QuerySet

from backoffice.exceptions import ValidationFailed
from backoffice.outbox.services import event_record
from backoffice.timefmt import rfc3339
from orders.locks import order_lock
from orders.messages.masking import contacts_mask
from orders.models import Order, OrderMessage

MAX_ATTACHMENTS = 5
MAX_BODY_CHARACTERS = 5000
MAX_URL_CHARACTERS = 2000
PIN_HIDDEN = "The customer has a delivery PIN to give you at the door."
_https = URLValidator(schemes=["https"])

Role = OrderMessage.Role


def attachments_clean(urls: Iterable[Any]) -> list[str]:
    """At most five https URLs (images or files hosted elsewhere)."""
    urls = list(urls or [])
    if len(urls) > MAX_ATTACHMENTS:
        raise ValidationFailed({"attachments": [f"At most {MAX_ATTACHMENTS} attachments."]})
    for url in urls:
        try:
            if not isinstance(url, str) or len(url) > MAX_URL_CHARACTERS:
                raise DjangoValidationError("too long")
            _https(url)
        except DjangoValidationError as error:
            raise ValidationFailed({"attachments": ["Each attachment is an https URL."]}) from error
    return urls


def customer_display_name(order: Order) -> str:
    """The customer's first name from the shipping address, else "Customer"."""
    name = ((order.shipping_address or {}).get("name") or "").split()
    return name[0][:100] if name else "Customer"


def message_post(
    *,
    order: Order,
    role: str,
    author_name: str,
    author_ref: str,
    body: str,
    attachments: Iterable[str] = (),
    kind: str = OrderMessage.Kind.TEXT,
    data: dict[str, Any] | None = None,
) -> OrderMessage:
    """Add a message to the order's thread and record `message.created`.

    Raises ValidationFailed for an empty message, a body over 5000 characters or bad
    attachments.
    """
    body = (body or "").strip()
    attachments = attachments_clean(attachments)
    if not body and not attachments and not data:
        raise ValidationFailed({"body": ["Write something or attach a file."]})
    if len(body) > MAX_BODY_CHARACTERS:
        raise ValidationFailed({"body": [f"At most {MAX_BODY_CHARACTERS} characters."]})
    with transaction.atomic():
        order = order_lock(order)
        message = OrderMessage.objects.create(
            order=order,
            author_role=role,
            author_name=author_name[:200],
            author_ref=author_ref[:150],
            body=body,
            attachments=attachments,
            kind=kind,
            data=data or {},
        )
        event_record(
            type="message.created",
            aggregate=order.holder,
            data={
                "order": {"id": str(order.pk), "number": order.number},
                "message": message_payload(message, body=message.body),
            },
            channel_code=order.channel.code,
        )
    return message


def message_list(*, order: Order, after: int | None = None) -> QuerySet[OrderMessage]:
    """The thread oldest first; `after` is the id of the last message the caller has."""
    messages = OrderMessage.objects.filter(order=order).order_by("id")
    if after is not None:
        messages = messages.filter(id__gt=after)
    return messages


def message_body_for(message: OrderMessage, *, viewer_role: str, viewer_ref: str = "") -> str:
    """The body as this viewer may read it: staff and the author see it as written."""
    if viewer_role == Role.STAFF:
        return message.body
    if message.kind == OrderMessage.Kind.PIN and viewer_role != Role.CUSTOMER:
        return PIN_HIDDEN
    if message.author_role == viewer_role and message.author_ref == viewer_ref:
        return message.body
    return contacts_mask(message.body)


def message_payload(message: OrderMessage, *, body: str) -> dict[str, Any]:
    """A message as the API shows it, with the body already chosen for the viewer."""
    return {
        "id": str(message.pk),
        "author_role": message.author_role,
        "author_name": message.author_name,
        "body": body,
        "attachments": list(message.attachments),
        "kind": message.kind,
        "data": {} if message.kind == OrderMessage.Kind.PIN else dict(message.data),
        "created_at": rfc3339(message.created_at),
    }
