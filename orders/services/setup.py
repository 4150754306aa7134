"""Checkout set-up by staff: vouchers and shipping methods."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.db import IntegrityError, transaction

from backoffice.audit.services import audit_record
from backoffice.exceptions import ValidationFailed
from backoffice.fields import COUNT_MAX
from backoffice.money import currency_problem, parse_amount
from catalog.models import Channel
from inventory.codes import code_is
from inventory.models import Warehouse
from orders.locks import voucher_lock
from orders.models import ShippingMethod, Voucher

# What a voucher edit may change (`used_count` is the checkouts' and cancels' alone).
VOUCHER_EDITABLE = (
    "code", "kind", "value", "min_subtotal", "currency", "starts_at", "ends_at", "usage_limit",
    "active",
)  # fmt: skip
VOUCHER_CODE = re.compile(r"[A-Za-z0-9_-]{2,50}")
# A voucher no one may use is switched off (`active`), not limited to 0 uses.
USAGE_LIMIT_MIN = 1
VOUCHER_CODE_INDEX = "voucher_code_unique_ignoring_case"
UNCHANGED: object = object()  # an argument not given to `voucher_update`


def _kind(kind: str, choices: type[Voucher.Kind] | type[ShippingMethod.Kind]) -> str:
    if kind not in choices.values:
        raise ValidationFailed({"kind": [f"Use one of: {', '.join(choices.values)}."]})
    return kind


def _amount(value: object, currency: str, field: str) -> Decimal:
    try:
        return parse_amount(value, currency)
    except ValueError as error:
        raise ValidationFailed({field: [str(error)]}) from error


def _voucher_code(code: str, *, other_than: int | None = None) -> str:
    """A code no other voucher has, ignoring case (the database's index says so too)."""
    if not isinstance(code, str) or not VOUCHER_CODE.fullmatch(code):
        raise ValidationFailed({"code": ["Use 2 to 50 letters, digits, '-' or '_'."]})
    taken = Voucher.objects.filter(code__iexact=code)
    if other_than is not None:
        taken = taken.exclude(pk=other_than)
    if taken.exists():
        raise _code_taken(code)
    return code


def _code_collision(error: IntegrityError) -> bool:
    """Whether the database refused a voucher's code (its index ignoring case), and nothing else."""
    diagnostics = getattr(error.__cause__, "diag", None)
    return getattr(diagnostics, "constraint_name", None) == VOUCHER_CODE_INDEX


def _code_taken(code: str) -> ValidationFailed:
    return ValidationFailed({"code": [f"A voucher '{code}' exists."]})


def voucher_percentage(value: object) -> Decimal:
    """A voucher's percentage: more than 0, at most 100, with at most
    `Voucher.PERCENT_PLACES` decimal places (12.5 is fine in any shop); not money, so no
    currency's precision applies. Raises ValidationFailed on `value`."""
    if isinstance(value, float | bool):
        raise ValidationFailed({"value": ['Send a percentage as a decimal string, e.g. "12.5".']})
    try:
        percent = Decimal(str(value).strip())
    except (InvalidOperation, ValueError) as error:
        raise ValidationFailed({"value": ["Not a decimal number."]}) from error
    if not percent.is_finite() or percent <= 0:
        raise ValidationFailed({"value": ["A percentage is more than 0."]})
    if percent > 100:
        raise ValidationFailed({"value": ["A percentage is at most 100."]})
    if percent != percent.quantize(Voucher.PERCENT_STEP):
        raise ValidationFailed(
            {"value": [f"A percentage has at most {Voucher.PERCENT_PLACES} decimal places."]}
        )
    return percent.quantize(Voucher.PERCENT_STEP)


def _voucher_currency(currency: object, channels: list[Channel], needed: bool) -> str:
    """The currency a voucher's money is in: the one given, else (when its terms have money)
    the one its channels share, or the default currency for a voucher of every channel."""
    if currency is None or currency == "":
        if not needed:
            return ""
        currencies = sorted({channel.currency for channel in channels})
        if len(currencies) > 1:
            raise ValidationFailed(
                {
                    "currency": [
                        f"The channels sell in {', '.join(currencies)}: name the currency of "
                        "the voucher's amounts (it applies in channels of that currency)."
                    ]
                }
            )
        return currencies[0] if currencies else settings.DEFAULT_CURRENCY
    code = currency.strip().upper() if isinstance(currency, str) else ""
    if not (len(code) == 3 and code.isascii() and code.isalpha()):
        raise ValidationFailed({"currency": ["Use an ISO 4217 code such as USD."]})
    problem = currency_problem(code)
    if problem:
        raise ValidationFailed({"currency": [problem]})
    others = sorted(channel.code for channel in channels if channel.currency != code)
    if others:
        raise ValidationFailed(
            {"channels": [f"Not in {code}, the voucher's currency: {', '.join(others)}."]}
        )
    return code


def _usage_limit(value: object) -> int:
    """A usage limit as staff or a client send it: a whole number (an int, or its ASCII
    digits as text, from a form or a JSON string), at least USAGE_LIMIT_MIN; anything else
    (a fraction, a boolean, words, other scripts' digits) is refused in these words."""
    if isinstance(value, str):
        text = value.strip()
        if not (text.isascii() and text.isdigit()):
            value = None
        else:  # beyond any bound, without reading thousands of digits
            digits = text.lstrip("0") or "0"
            value = int(digits) if len(digits) <= len(str(COUNT_MAX)) else COUNT_MAX + 1
    if not isinstance(value, int) or isinstance(value, bool) or value < USAGE_LIMIT_MIN:
        raise ValidationFailed({"usage_limit": [f"A whole number, {USAGE_LIMIT_MIN} or more."]})
    return value


def _voucher_terms(
    *,
    kind: str,
    value: object,
    min_subtotal: object,
    currency: object,
    channels: list[Channel],
    starts_at: datetime | None,
    ends_at: datetime | None,
    usage_limit: int | None,
    used_count: int = 0,
) -> dict[str, object]:
    """The checked terms of a voucher, as its columns; raises ValidationFailed naming the field.

    A percentage is `voucher_percentage`. Money (a fixed amount, a minimum subtotal) is in
    the voucher's currency (`_voucher_currency`), exact to its minor unit (JPY 0 places,
    KWD 3), and the voucher's channels all sell in it; the window ends after it starts;
    a usage limit is a whole number (`_usage_limit`), never below the uses counted.
    """
    kind = _kind(kind, Voucher.Kind)
    currency = _voucher_currency(
        currency, channels, needed=kind == Voucher.Kind.FIXED or min_subtotal is not None
    )
    if kind == Voucher.Kind.PERCENTAGE:
        amount = voucher_percentage(value)
    else:
        amount = _amount(value, currency, "value")
    if starts_at and ends_at and ends_at <= starts_at:
        raise ValidationFailed({"ends_at": ["Must be after starts_at."]})
    if usage_limit is not None:
        usage_limit = _usage_limit(usage_limit)
        if usage_limit > COUNT_MAX:
            raise ValidationFailed({"usage_limit": [f"At most {COUNT_MAX}."]})
        if usage_limit < used_count:
            raise ValidationFailed(
                {"usage_limit": [f"Used {used_count} times already: the limit cannot be lower."]}
            )
    return {
        "kind": kind,
        "value": amount,
        "min_subtotal": None
        if min_subtotal is None
        else _amount(min_subtotal, currency, "min_subtotal"),
        "currency": currency,
        "starts_at": starts_at,
        "ends_at": ends_at,
        "usage_limit": usage_limit,
    }


def voucher_create(
    *,
    code: str,
    kind: str,
    value: object,
    min_subtotal: object = None,
    currency: str | None = None,
    starts_at: datetime | None = None,
    ends_at: datetime | None = None,
    channels: Iterable[Channel] = (),
    usage_limit: int | None = None,
    active: bool = True,
    actor: str = "",
) -> Voucher:
    """Create a voucher (`_voucher_terms` says what is accepted) and record who did.

    Raises ValidationFailed for an unknown kind, a bad amount, window or limit, or a code
    in use ignoring case (also when a concurrent create took it first).
    """
    channels = list(channels)
    terms = _voucher_terms(
        kind=kind,
        value=value,
        min_subtotal=min_subtotal,
        currency=currency,
        channels=channels,
        starts_at=starts_at,
        ends_at=ends_at,
        usage_limit=usage_limit,
    )
    code = _voucher_code(code)
    try:
        with transaction.atomic():
            voucher = Voucher.objects.create(code=code, active=bool(active), **terms)
            voucher.channels.set(channels)
            audit_record(
                actor=actor or "system",
                action="voucher.created",
                target_type="voucher",
                target_id=voucher.pk,
                changes=_audit_changes({"code": code, "active": bool(active), **terms}, channels),
            )
    except IntegrityError as error:
        if not _code_collision(error):
            raise
        raise _code_taken(code) from error  # the same code, created meanwhile
    return voucher


def voucher_update(
    *,
    voucher: Voucher,
    actor: str = "",
    code: str | object = UNCHANGED,
    kind: str | object = UNCHANGED,
    value: object = UNCHANGED,
    min_subtotal: object = UNCHANGED,
    currency: str | object | None = UNCHANGED,
    starts_at: datetime | object | None = UNCHANGED,
    ends_at: datetime | object | None = UNCHANGED,
    channels: Iterable[Channel] | object = UNCHANGED,
    usage_limit: int | object | None = UNCHANGED,
    active: bool | object = UNCHANGED,
) -> Voucher:
    """Change what is given of a voucher (the rest stays as it is now); returns it fresh.

    The voucher row is locked (FOR NO KEY UPDATE, docs/architecture.md "Lock order" 6)
    and the terms checked against it as it stands, like a create (`_voucher_terms`), and
    the usage limit never below `used_count`. Only the columns that change are written,
    never `used_count`: a checkout counting a use waits for this edit and counts it on
    the edited row. An audit row records what changed (nothing changed: no write, no row).

    Raises ValidationFailed naming the field: an unknown kind, a bad amount, window or
    limit, or a code another voucher has ignoring case (also one committed meanwhile).
    """
    given = {
        name: given_value
        for name, given_value in (
            ("code", code),
            ("kind", kind),
            ("value", value),
            ("min_subtotal", min_subtotal),
            ("currency", currency),
            ("starts_at", starts_at),
            ("ends_at", ends_at),
            ("usage_limit", usage_limit),
            ("active", active),
        )
        if given_value is not UNCHANGED
    }
    try:
        with transaction.atomic():
            locked = voucher_lock(voucher.pk)
            current = {name: getattr(locked, name) for name in VOUCHER_EDITABLE}
            wanted = {**current, **given}
            before = list(locked.channels.all())
            chosen = before if channels is UNCHANGED else list(channels)  # type: ignore[call-overload]
            terms = _voucher_terms(
                kind=wanted["kind"],
                value=wanted["value"],
                min_subtotal=wanted["min_subtotal"],
                currency=wanted["currency"],
                channels=chosen,
                starts_at=wanted["starts_at"],
                ends_at=wanted["ends_at"],
                usage_limit=wanted["usage_limit"],
                used_count=locked.used_count,
            )
            new = {**terms, "code": wanted["code"], "active": bool(wanted["active"])}
            changed = {name: new[name] for name in VOUCHER_EDITABLE if new[name] != current[name]}
            if "code" in changed:
                _voucher_code(changed["code"], other_than=locked.pk)
            for name, new_value in changed.items():
                setattr(locked, name, new_value)
            if changed:
                locked.save(update_fields=list(changed))
            channel_change = None
            if {channel.pk for channel in chosen} != {channel.pk for channel in before}:
                locked.channels.set(chosen)
                channel_change = chosen
            if changed or channel_change is not None:
                audit_record(
                    actor=actor or "system",
                    action="voucher.updated",
                    target_type="voucher",
                    target_id=locked.pk,
                    changes=_audit_changes(changed, channel_change),
                )
    except IntegrityError as error:
        if not _code_collision(error):
            raise
        # The same code in another case, committed meanwhile.
        raise _code_taken(str(given.get("code", voucher.code))) from error
    return locked


def _audit_value(field_value: object) -> object:
    if field_value is None or isinstance(field_value, bool | int | str):
        return field_value
    if isinstance(field_value, datetime):
        return field_value.isoformat()
    return str(field_value)  # a Decimal


def _audit_changes(
    fields: dict[str, object], channels: Iterable[Channel] | None
) -> dict[str, object]:
    changes = {name: _audit_value(field_value) for name, field_value in fields.items()}
    if channels is not None:
        changes["channels"] = sorted(channel.code for channel in channels)
    return changes


def shipping_method_create(
    *,
    channel: Channel,
    code: str,
    name: str,
    kind: str = ShippingMethod.Kind.FLAT_RATE,
    price: object = "0",
    free_over: object = None,
    pickup_warehouse: str | None = None,
    active: bool = True,
) -> ShippingMethod:
    """A flat rate (free over a threshold) or pickup at a store that serves the channel.

    Raises ValidationFailed for an unknown kind, a bad amount, a pickup store that does not
    serve the channel, or a code in use there (also when a concurrent create took it first).
    """
    kind = _kind(kind, ShippingMethod.Kind)
    taken = ValidationFailed({"code": [f"'{code}' exists in {channel.code}."]})
    if ShippingMethod.objects.filter(channel=channel, code=code).exists():
        raise taken
    warehouse = None
    if kind == ShippingMethod.Kind.PICKUP:
        warehouse = Warehouse.objects.filter(
            code_is(pickup_warehouse or ""), channels=channel
        ).first()
        if warehouse is None:
            raise ValidationFailed(
                {"pickup_warehouse": ["Pickup needs a warehouse that serves this channel."]}
            )
    price = _amount(price, channel.currency, "price")
    free_over = None if free_over is None else _amount(free_over, channel.currency, "free_over")
    try:
        with transaction.atomic():
            return ShippingMethod.objects.create(
                channel=channel,
                code=code,
                name=name,
                kind=kind,
                price=price,
                free_over=free_over,
                pickup_warehouse=warehouse,
                active=active,
            )
    except IntegrityError as error:  # the same code, created meanwhile
        raise taken from error
