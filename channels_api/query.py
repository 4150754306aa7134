"""Query parameters: an endpoint accepts the ones it reads and refuses the rest, by name.

A parameter an endpoint does not read, or a value it does not understand, answers
400 `invalid` naming the parameter, never a silent "ignored":

- which names an endpoint reads (`accepted_query_parameters`): on GET its filters
  (`filterset_class`), `limit` and `offset` when it paginates, and the names it
  declares itself (`query_parameters`); `format` on every method;
- filter values (`StrictFilterBackend`): django-filter already refuses a bad choice,
  date or number; a boolean filter reads "yes" as "no filter", so it is checked here,
  and a time whose offset PostgreSQL cannot read is turned into UTC;
- `format` (`StrictContentNegotiation`): one of the formats the endpoint has a
  renderer for (JSON everywhere; an endpoint serving CSV declares a renderer whose
  `format` is "csv");
- `limit` and `offset`: whole numbers in range (`integer_parameter`).
"""

from __future__ import annotations

from datetime import UTC, datetime

from django.conf import settings
from django_filters import BooleanFilter, MultipleChoiceFilter
from django_filters.rest_framework import DjangoFilterBackend
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.request import Request

from backoffice.exceptions import ValidationFailed

FORMAT = settings.REST_FRAMEWORK.get("URL_FORMAT_OVERRIDE", "format")
PAGE_PARAMETERS = ("limit", "offset")
# What django-filter's boolean field reads as true or false; anything else it ignores.
BOOLEAN_VALUES = ("true", "false", "True", "False", "1", "0")
# A page may start this far in at most: beyond, a request could only scan the table.
MAX_OFFSET = 1_000_000_000


def _filters(view) -> dict:
    filterset_class = getattr(view, "filterset_class", None)
    return dict(filterset_class.base_filters) if filterset_class is not None else {}


def accepted_query_parameters(view, method: str) -> set[str]:
    """The query parameters `view` reads for `method` (the OpenAPI schema documents them)."""
    accepted = {FORMAT}
    if method in ("GET", "HEAD"):
        accepted.update(_filters(view))
        if getattr(view, "pagination_class", None) is not None:
            accepted.update(PAGE_PARAMETERS)
        accepted.update(getattr(view, "query_parameters", ()))
    return accepted


def query_parameters_check(view, request: Request) -> None:
    """Refuse parameters the view does not read, and single values given more than once."""
    accepted = accepted_query_parameters(view, request.method)
    filters = _filters(view)
    errors: dict[str, list[str]] = {}
    for name, values in request.query_params.lists():
        if name not in accepted:
            listed = ", ".join(sorted(accepted - {FORMAT})) or "none"
            errors[name] = [f"Not a parameter of this endpoint (it takes: {listed})."]
        elif len(values) > 1 and not isinstance(filters.get(name), MultipleChoiceFilter):
            errors[name] = ["Give this parameter once."]
    if errors:
        raise ValidationFailed(errors)


def integer_parameter(
    request: Request, name: str, *, default: int, minimum: int, maximum: int | None = None
) -> int:
    """A whole-number query parameter of at least `minimum` (and at most `maximum`, if
    given), or `default` when absent or empty."""
    text = request.query_params.get(name)
    if text is None or text == "":
        return default
    value = None
    if text.isascii() and text.isdigit():
        value = int(text) if len(text) <= 18 else 10**18  # no digit-count surprises
    if value is None or value < minimum or (maximum is not None and value > maximum):
        bounds = f"from {minimum} to {maximum}" if maximum is not None else f"of {minimum} or more"
        raise ValidationFailed({name: [f"A whole number {bounds}."]})
    return value


class StrictFilterBackend(DjangoFilterBackend):
    """django-filter, refusing boolean values it would read as "no filter", and giving the
    database times in UTC (PostgreSQL refuses offsets beyond 15:59 that Python accepts)."""

    def get_filterset(self, request: Request, queryset, view):
        filterset = super().get_filterset(request, queryset, view)
        if filterset is None:
            return None
        errors = {
            name: ["Use true or false."]
            for name, filter_ in filterset.filters.items()
            if isinstance(filter_, BooleanFilter)
            and request.query_params.get(name, "") not in ("", *BOOLEAN_VALUES)
        }
        if not errors and filterset.is_valid():  # invalid: django-filter answers, by name
            cleaned = filterset.form.cleaned_data
            for name, value in cleaned.items():
                if isinstance(value, datetime) and value.tzinfo is not None:
                    try:
                        cleaned[name] = value.astimezone(UTC)
                    except OverflowError:
                        errors[name] = ["Out of range once in UTC."]
        if errors:
            raise ValidationFailed(errors)
        return filterset


class StrictContentNegotiation(DefaultContentNegotiation):
    """`?format=` names a format the endpoint serves, or is a 400 (DRF answers 404)."""

    def filter_renderers(self, renderers, format):
        served = [renderer for renderer in renderers if renderer.format == format]
        if not served:
            formats = ", ".join(sorted({renderer.format for renderer in renderers}))
            raise ValidationFailed({FORMAT: [f"Not served here; use {formats}."]})
        return served
