"""Exact money: Decimal amounts beside an ISO 4217 currency, one rounding rule.

The rule: amounts are rounded half-up to the currency's minor unit, once per
line and once per total, never in between on a float.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

# Currencies whose minor unit is not two digits (ISO 4217); all others use 2.
_MINOR_UNITS = {
    "BHD": 3, "CLP": 0, "ISK": 0, "JOD": 3, "JPY": 0, "KRW": 0, "KWD": 3,
    "OMR": 3, "PYG": 0, "TND": 3, "UGX": 0, "VND": 0, "XAF": 0, "XOF": 0,
}  # fmt: skip

# Amounts are stored as DecimalField(max_digits=MAX_DIGITS, decimal_places=DECIMAL_PLACES):
# every stored amount is below AMOUNT_LIMIT.
MAX_DIGITS = 14
DECIMAL_PLACES = 3
AMOUNT_LIMIT = Decimal(10) ** (MAX_DIGITS - DECIMAL_PLACES)


def minor_units(currency: str) -> int:
    """How many decimal places the currency has."""
    return _MINOR_UNITS.get(currency.upper(), 2)


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
