"""Point-of-sale errors, each with a stable code."""

from __future__ import annotations

from backoffice.exceptions import DomainError


class PosSaleNotRecorded(DomainError):
    """A live sale whose `client_id` arrived before (in an offline upload) and became no order."""

    code = "pos_sale_not_recorded"
    status = 409
    title = "This sale was uploaded before and could not be recorded."
