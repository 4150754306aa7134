"""The error answers the schema documents: codes every operation gives by its shape, and `raises`.

An operation's problems are the generic ones its shape implies (any call can be refused its
key, rate-limited or refused a query parameter; a path with an id can be 404; a body can be
malformed; an idempotent POST can meet its key in use) plus the business errors its view
method declares with `@raises`.
Status and code always come from the exception handler's own table (`status_and_code`), so
the schema cannot name a code the handler does not give.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

from django.core.exceptions import RequestDataTooBig
from django.http import Http404
from drf_spectacular.utils import extend_schema_serializer
from rest_framework import exceptions, serializers

from channels_api.exceptions import status_and_code
from channels_api.idempotency import MAX_KEY_LENGTH, IdempotencyKeyInUse, IdempotencyKeyReused

ViewMethod = TypeVar("ViewMethod", bound=Callable[..., Any])

# When each generic problem is answered, as the schema tells it (business errors use their title).
MEANINGS: dict[type[Exception], str] = {
    exceptions.NotAuthenticated: "No `Authorization: Bearer` credential, or one that is unknown, "
    "expired, revoked or of an inactive channel.",
    exceptions.PermissionDenied: "The credential may not do this: a publishable key on /admin, "
    "a secret key on /store, a key limited to another channel, or an action that needs a key "
    "not limited to one channel.",
    exceptions.NotAcceptable: "The `Accept` header asks for something other than JSON.",
    exceptions.Throttled: "Over the credential's requests per minute: wait `Retry-After` seconds.",
    Exception: "A fault on our side. Nothing is stored for an Idempotency-Key: retry with the "
    "same key.",
    Http404: "Nothing with this id, code or token is visible to this credential.",
    exceptions.ValidationError: "A field or parameter is invalid (including a query parameter "
    "the operation does not take, a value it does not understand, and an Idempotency-Key "
    f"that is blank or over {MAX_KEY_LENGTH} characters, and a body string or key holding a NUL "
    "or a lone UTF-16 surrogate): `errors` holds the messages per "
    "field or parameter, nested fields named with dots (`shipping_address.city`, `lines.0.sku`).",
    exceptions.ParseError: "The body is not valid JSON (or not UTF-8), or nests arrays "
    "and objects more than 32 levels deep.",
    RequestDataTooBig: "The body is over the size limit (1 MB unless configured otherwise).",
    exceptions.UnsupportedMediaType: "The body is not `application/json`.",
}

# Every operation refuses query parameters it does not take (`channels_api.query`): 400.
EVERY_OPERATION = (
    exceptions.NotAuthenticated,
    exceptions.PermissionDenied,
    exceptions.NotAcceptable,
    exceptions.Throttled,
    exceptions.ValidationError,
    Exception,
)
WITH_PATH_PARAMETERS = (Http404,)
WITH_BODY = (
    exceptions.ValidationError,
    exceptions.ParseError,
    RequestDataTooBig,
    exceptions.UnsupportedMediaType,
)
IDEMPOTENT = (exceptions.ValidationError, IdempotencyKeyInUse, IdempotencyKeyReused)
BODY_METHODS = {"POST", "PUT", "PATCH"}

# Answered before the view runs, or never stored: these are never an idempotent replay.
NOT_REPLAYED = {
    "not_authenticated",
    "not_acceptable",
    "rate_limited",
    "server_error",
    "parse_error",
    "payload_too_large",
    "unsupported_media_type",
    IdempotencyKeyInUse.code,
    IdempotencyKeyReused.code,
    "payment_provider_unavailable",  # a 5xx: never stored, a retry runs afresh
}

# Extra members of the example problem of a code (what the handler adds for it).
EXAMPLE_EXTRAS: dict[str, dict[str, Any]] = {
    "invalid": {"errors": {"lines.0.sku": ["Unknown SKU 'TEE-XXL' in this channel."]}},
    "insufficient_stock": {"lines": [{"sku": "TEE-M", "requested": 3, "available": 1}]},
    "invalid_transition": {"current_status": "cancelled", "action": "capture"},
}


@dataclass(frozen=True)
class ProblemCode:
    """One code an operation can answer: its HTTP status and when it is given."""

    status: int
    code: str
    meaning: str

    @property
    def replayable(self) -> bool:
        return self.code not in NOT_REPLAYED


def problem_code(exception_class: type[Exception]) -> ProblemCode:
    status, code = status_and_code(exception_class)
    meaning = MEANINGS.get(exception_class) or getattr(exception_class, "title", "")
    return ProblemCode(status=status, code=code, meaning=meaning)


def raises(*exception_classes: type[Exception]) -> Callable[[ViewMethod], ViewMethod]:
    """Declare the business errors (DomainError classes) a view method can answer.

    The schema lists their codes under the operation; the generic ones need no declaration.
    """

    def declare(view_method: ViewMethod) -> ViewMethod:
        view_method.raises = (*getattr(view_method, "raises", ()), *exception_classes)
        return view_method

    return declare


def operation_problems(
    *,
    view_method: Callable | None,
    method: str,
    has_path_parameters: bool,
    idempotent: bool,
) -> dict[int, list[ProblemCode]]:
    """Status → the codes this operation can answer, each code once, statuses in order."""
    classes: list[type[Exception]] = list(EVERY_OPERATION)
    if has_path_parameters:
        classes += WITH_PATH_PARAMETERS
    if method in BODY_METHODS:
        classes += WITH_BODY
    if idempotent:
        classes += IDEMPOTENT
    classes += getattr(view_method, "raises", ())
    return _by_status(problem_code(exception_class) for exception_class in classes)


def _by_status(codes: Iterable[ProblemCode]) -> dict[int, list[ProblemCode]]:
    grouped: dict[int, dict[str, ProblemCode]] = {}
    for code in codes:
        grouped.setdefault(code.status, {}).setdefault(code.code, code)
    return {status: list(grouped[status].values()) for status in sorted(grouped)}


@extend_schema_serializer(component_name="ProblemLine")
class ProblemLineOutput(serializers.Serializer):
    sku = serializers.CharField()
    requested = serializers.IntegerField()
    available = serializers.IntegerField()


@extend_schema_serializer(component_name="Problem")
class ProblemOutput(serializers.Serializer):
    """An error answer (RFC 9457 `application/problem+json`); `code` is stable."""

    type = serializers.URLField(help_text="A URI naming the problem: the base URI plus `code`.")
    title = serializers.CharField(help_text="The HTTP status phrase.")
    status = serializers.IntegerField(help_text="The HTTP status code of the answer.")
    detail = serializers.CharField(help_text="What went wrong, for people; may change.")
    code = serializers.CharField(help_text="What went wrong, for programs; stable.")
    errors = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        required=False,
        help_text="400 `invalid`: messages per field; nested fields are named with dots.",
    )
    lines = ProblemLineOutput(
        many=True, required=False, help_text="409 `insufficient_stock`: what each short SKU has."
    )
    current_status = serializers.CharField(
        required=False, help_text="409 `invalid_transition`: the state that refuses the action."
    )
    action = serializers.CharField(
        required=False, help_text="409 `invalid_transition`: the action refused."
    )
