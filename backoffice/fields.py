"""Model fields and validators that every app shares: money columns and the codes staff type.

The kernel holds them so that no domain app imports another only for a field type.
Moving them here changed no column: migrations store a field's arguments, not where
the helper that built it lives.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models

from backoffice.money import DECIMAL_PLACES, MAX_DIGITS, currency_problem

# The largest count a PositiveIntegerField holds in every database Django supports (a
# PostgreSQL `integer`): usage limits of vouchers and links. The services refuse more by
# name; the API's schema states the same bound from here.
COUNT_MAX = 2_147_483_647

# Channel and shipping method codes: what integrations send, so lowercase and URL-safe.
code_validator = RegexValidator(
    r"^[a-z0-9][a-z0-9_-]{0,49}$",
    "Use lowercase letters, digits, '-' and '_' (at most 50).",
)


def currency_validator(value: str) -> None:
    """An ISO 4217 code (upper case, such as USD) whose amounts the database can hold."""
    if not (len(value) == 3 and value.isascii() and value.isalpha() and value.isupper()):
        raise ValidationError("Use an ISO 4217 code such as USD.")
    problem = currency_problem(value)
    if problem:
        raise ValidationError(problem)


def money_field(**kwargs) -> models.DecimalField:
    """A money column: every amount below `backoffice.money.AMOUNT_LIMIT`, exact."""
    return models.DecimalField(max_digits=MAX_DIGITS, decimal_places=DECIMAL_PLACES, **kwargs)
