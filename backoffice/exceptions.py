"""The base of every business-rule error: a stable code, a message and optional data."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """A business rule refused the operation.

    `code` is stable and machine-readable; `status` is the HTTP status the API
    layer gives it; `extra` is merged into the problem document.
    """

    code: str = "domain_error"
    status: int = 400
    title: str = "The request breaks a business rule."

    def __init__(self, detail: str | None = None, **extra: Any) -> None:
        self.detail = detail or self.title
        self.extra = extra
        super().__init__(self.detail)


class NotFound(DomainError):
    code = "not_found"
    status = 404
    title = "Not found."


class ValidationFailed(DomainError):
    """Input that names things that do not exist or cannot be used; `errors` maps fields."""

    code = "invalid"
    status = 400
    title = "Invalid input."

    def __init__(self, errors: dict[str, list[str]], detail: str | None = None) -> None:
        super().__init__(detail or "The request has invalid fields.", errors=errors)
        self.errors = errors


class InvalidTransition(DomainError):
    code = "invalid_transition"
    status = 409
    title = "This action is not allowed in the current state."

    def __init__(self, *, entity: str, current: str, action: str) -> None:
        super().__init__(
            f"Cannot {action} a {entity} that is {current}.",
            current_status=current,
            action=action,
        )
