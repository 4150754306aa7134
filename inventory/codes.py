"""Warehouse and store codes: what merchants type, kept as typed, unique and found ignoring case.

Like a SKU, a code may hold letters of either case, digits, `-` and `_` (`WH-EAST-01`).
It is stored as typed and shown as typed, but `wh-east-01` names the same warehouse: the
database refuses a second code that differs only in case (a unique index on
`LOWER(code)`), and every lookup compares lower-cased. The rule's forms live here side
by side: the pattern and its message (validation), `code_key` (Python) and
`code_is` / `code_in` (ORM filters, which the index serves).
"""

from __future__ import annotations

from collections.abc import Iterable

from django.core.validators import RegexValidator
from django.db.models.functions import Lower
from django.db.models.lookups import Exact, In

WAREHOUSE_CODE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,49}$"
WAREHOUSE_CODE_MESSAGE = (
    "Use letters (either case), digits, '-' and '_', starting with a letter or a digit, "
    "at most 50 characters, e.g. WH-EAST-01."
)
WAREHOUSE_CODE_TAKEN = "A warehouse with this code exists (codes are unique ignoring case)."
warehouse_code_validator = RegexValidator(WAREHOUSE_CODE_PATTERN, WAREHOUSE_CODE_MESSAGE)


def code_key(code: str) -> str:
    """The form codes are compared in (codes are ASCII, so this is SQL's LOWER too)."""
    return code.lower()


def code_is(code: str, field: str = "code") -> Exact:
    """A filter: `field` names this code, in any case. `field` may follow relations."""
    return Exact(Lower(field), code_key(code))


def code_in(codes: Iterable[str], field: str = "code") -> In:
    """A filter: `field` names one of these codes, in any case."""
    return In(Lower(field), sorted({code_key(code) for code in codes}))
