"""Exact money: Decimal amounts beside an ISO 4217 currency, one rounding rule, one format.

The rule: amounts are rounded half-up to the currency's minor unit, once per
line and once per total, never in between on a float. The minor units come from
the ISO 4217 table (the `iso4217` package, which ships ISO's own list); people
read amounts formatted by Babel in the site's language (`LANGUAGE_CODE`), with
the currency's symbol: `$39.98`, `¥3,998`, `BHD 1.234`. Admin pages, customer
emails, API error messages and CSV files all go through `money_format` (or
`money_plain` where a spreadsheet wants a bare number beside a currency column).
"""

from __future__ import annotations

import copy
import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import lru_cache

from babel import Locale
from babel.numbers import NumberPattern, parse_pattern
from iso4217 import Currency

# Amounts are stored as DecimalField(max_digits=MAX_DIGITS, decimal_places=DECIMAL_PLACES):
# every stored amount is below AMOUNT_LIMIT.
MAX_DIGITS = 14
DECIMAL_PLACES = 3
AMOUNT_LIMIT = Decimal(10) ** (MAX_DIGITS - DECIMAL_PLACES)


def currency_minor_units(code: str) -> int:
    """How many digits ISO 4217 gives the currency after the decimal point (USD 2, JPY 0, BHD 3).

    Raises ValueError for a code that is not in ISO 4217. Codes without a minor unit
    (precious metals, XXX) count as 0.
    """
    try:
        exponent = Currency(str(code).upper()).exponent
    except ValueError as error:
        raise ValueError(f"'{code}' is not an ISO 4217 currency code.") from error
    return exponent or 0


def currency_problem(code: str) -> str:
    """Why a currency cannot be sold in, or "" when it can: known to ISO 4217, with a minor
    unit the stored amounts can hold."""
    try:
        units = currency_minor_units(code)
    except ValueError as error:
        return str(error)
    if units > DECIMAL_PLACES:
        return f"{code} has {units} decimal places; amounts are kept with {DECIMAL_PLACES}."
    return ""


def to_minor_units(amount: Decimal, currency: str) -> int:
    """An amount in the currency's smallest unit, as payment providers count it (19.99 USD →
    1999, 500 JPY → 500, 1.234 KWD → 1234). Rounds half-up to the minor unit first."""
    return int(quantize(amount, currency).scaleb(currency_minor_units(currency)))


def from_minor_units(value: int, currency: str) -> Decimal:
    """The inverse of `to_minor_units`: 1999 USD cents → Decimal("19.99")."""
    return quantize(Decimal(int(value)).scaleb(-currency_minor_units(currency)), currency)


# Each currency's minor unit as a quantum (USD 0.01), kept: ISO 4217 does not change while
# the process runs, and a checkout rounds and renders about twenty amounts.
_QUANTA: dict[str, Decimal] = {}


def quantize(amount: Decimal | int | str, currency: str) -> Decimal:
    """Round half-up to the currency's minor unit."""
    exponent = _QUANTA.get(currency)
    if exponent is None:
        exponent = Decimal(1).scaleb(-currency_minor_units(currency))
        if type(currency) is str:  # a plain code; anything else is looked up each time
            _QUANTA[currency] = exponent
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
    if not amount_storable(amount):
        raise ValueError(f"Amounts must be below {AMOUNT_LIMIT}.")
    if amount != quantize(amount, currency):
        raise ValueError(
            f"{currency} allows at most {currency_minor_units(currency)} decimal places."
        )
    return quantize(amount, currency)


def amount_storable(amount: Decimal) -> bool:
    """Whether a money column can hold `amount` (below AMOUNT_LIMIT either way)."""
    return abs(amount) < AMOUNT_LIMIT


def money_dict(amount: Decimal, currency: str) -> dict[str, str]:
    """The API's money object: `{"amount": "19.99", "currency": "USD"}`."""
    return {"amount": money_plain(amount, currency), "currency": currency}


def money_plain(amount: Decimal | int | str, currency: str) -> str:
    """The amount alone, to the currency's minor unit: `39.98`, `3998` (for CSV and JSON)."""
    return str(quantize(amount, currency))


def money_format(amount: Decimal | int | str, currency: str, *, locale: str | None = None) -> str:
    """The amount as people read it, to the currency's minor unit, with its symbol: `$39.98`.

    `locale` is a Babel locale name (`en_US`, `de_DE`); the site's language by default.
    """
    locale_name = locale or _site_locale()
    pattern = _currency_pattern(locale_name, currency_minor_units(currency))
    text = pattern.apply(
        quantize(amount, currency),
        Locale.parse(locale_name),
        currency=currency,
        currency_digits=False,
    )
    # CLDR's currency spacing: a symbol made of letters ("BHD", "CA$" is fine) is kept
    # apart from the digits by a no-break space, which Babel leaves to the caller.
    return _LETTER_THEN_DIGIT.sub("\\1\u00a0\\2", text)


_LETTER_THEN_DIGIT = re.compile(r"([A-Za-z])([-\d])")


@lru_cache(maxsize=32)
def _currency_pattern(locale_name: str, digits: int) -> NumberPattern:
    """The locale's standard currency pattern with exactly `digits` decimals."""
    pattern = copy.copy(parse_pattern(Locale.parse(locale_name).currency_formats["standard"]))
    pattern.frac_prec = (digits, digits)
    return pattern


def _site_locale() -> str:
    from django.conf import settings
    from django.utils.translation import to_locale

    return to_locale(settings.LANGUAGE_CODE)
