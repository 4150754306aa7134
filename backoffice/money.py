"""Exact money: Decimal amounts beside an ISO 4217 currency, one rounding rule.

The rule: amounts are rounded half-up to the currency's minor unit, once per
line and once per total, never in between on a float.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import lru_cache

from iso4217 import Currency

# Amounts are stored as DecimalField(max_digits=MAX_DIGITS, decimal_places=DECIMAL_PLACES):
# every stored amount is below AMOUNT_LIMIT.
MAX_DIGITS = 14
DECIMAL_PLACES = 3
AMOUNT_LIMIT = Decimal(10) ** (MAX_DIGITS - DECIMAL_PLACES)


@lru_cache(maxsize=512)
def minor_units(currency: str) -> int:
    """How many decimal places ISO 4217 gives the currency (USD 2, JPY 0, KWD 3).

    From the `iso4217` package, which ships ISO's own table. A code ISO does not know
    counts as 2 (channels are created with a known code; this keeps old rows readable);
    codes without a minor unit (precious metals, XXX) count as 0.
    """
    try:
        exponent = Currency(str(currency).upper()).exponent
    except ValueError:
        return 2
    return exponent or 0


def to_minor_units(amount: Decimal, currency: str) -> int:
    """An amount in the currency's smallest unit, as payment providers count it (19.99 USD →
    1999, 500 JPY → 500, 1.234 KWD → 1234). Rounds half-up to the minor unit first."""
    return int(quantize(amount, currency).scaleb(minor_units(currency)))


def from_minor_units(value: int, currency: str) -> Decimal:
    """The inverse of `to_minor_units`: 1999 USD cents → Decimal("19.99")."""
    return quantize(Decimal(int(value)).scaleb(-minor_units(currency)), currency)


def quantize(amount: Decimal | int | str, currency: str) -> Decimal:
    """Round half-up to the currency's minor unit."""
    exponent = Decimal(1).scaleb(-minor_units(currency))
    return Decimal(amount).quantize(exponent, rounding=ROUND_HALF_UP)


def parse_amount(value: object, currency: str) -> Decimal:
    """Parse a client's decimal string, refusing floats, negatives and excess precision."""
    if isinstance(value, float | bool):
        raise ValueError('Send amounts as decimal strings, e.g. "19.99".')
    try:
        amount = Decimal(str(value).strip())
    except (InvalidOperation, ValueError) as error:
        raise ValueError("Not a decimal amount.") from error
    if not amount.is_finite() or amount < 0:
        raise ValueError("Amounts must be zero or more.")
    if amount != quantize(amount, currency):
        raise ValueError(f"{currency} allows at most {minor_units(currency)} decimal places.")
    if not amount_storable(amount):
        raise ValueError(f"Amounts must be below {AMOUNT_LIMIT}.")
    return quantize(amount, currency)


def amount_storable(amount: Decimal) -> bool:
    """Whether a money column can hold `amount` (below AMOUNT_LIMIT either way)."""
    return abs(amount) < AMOUNT_LIMIT


def money_dict(amount: Decimal, currency: str) -> dict[str, str]:
    """The API's money object: `{"amount": "19.99", "currency": "USD"}`."""
    return {"amount": str(quantize(amount, currency)), "currency": currency}
