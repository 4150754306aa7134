"""What the staff app decides about people, reachable from every app's admin without importing it.

The staff app (above the domain apps) installs its rules when Django starts: how a
user's scope is found (roles and profiles) and whether they may give a refund (limits).
Until then, and without it, only superusers see anything and refunds follow permissions.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from backoffice.exceptions import DomainError
from backoffice.scopes import Scope


class RefundNotAllowed(DomainError):
    """The staff member may not give this much back (their refund limit), or none at all."""

    code = "refund_not_allowed"
    status = 403
    title = "This refund is over your limit."


def _superusers_only(user: Any) -> Scope:
    return Scope.everything() if getattr(user, "is_superuser", False) else Scope.nothing()


def _by_permission(user: Any, currency: str, amount: Decimal) -> None:
    if not user.has_perm("orders.refund_order"):
        raise RefundNotAllowed("Your role does not allow refunds.")


_scope_of: Callable[[Any], Scope] = _superusers_only
_refund_check: Callable[[Any, str, Decimal], None] = _by_permission


def staff_policy_install(
    *, scope_of: Callable[[Any], Scope], refund_check: Callable[[Any, str, Decimal], None]
) -> None:
    global _scope_of, _refund_check
    _scope_of, _refund_check = scope_of, refund_check


def scope_of_user(user: Any) -> Scope:
    """A staff user's scope, looked up once per request (kept on the user object)."""
    cached = getattr(user, "_backoffice_scope", None)
    if cached is None:
        cached = _scope_of(user)
        user._backoffice_scope = cached
    return cached


def refund_check(*, user: Any, currency: str, amount: Decimal) -> None:
    """Raise RefundNotAllowed unless this staff member may give `amount` back at once."""
    _refund_check(user, currency, Decimal(amount))
