"""How each operation is described: texts, key, Idempotency-Key, headers and error answers.

Every view's operations get, from the view itself: a summary and a description from the
method's docstring (first line, then the rest), never from a shared base class; a note of the
key it needs; for a POST decorated with `@idempotent`, the `Idempotency-Key` header and the
`Idempotent-Replayed` answer header; and its problem+json answers (`problems.py`).
"""

from __future__ import annotations

import copy
import inspect
from typing import Any

from django.conf import settings
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse

from channels_api.fulfiller.authentication import IsFulfiller
from channels_api.idempotency import HEADER, MAX_KEY_LENGTH, REPLAY_HEADER
from channels_api.permissions import (
    IsPublishableKey,
    IsSecretKey,
    IsUnrestrictedSecretKey,
    SignedByPaymentProvider,
)
from channels_api.problems import PROBLEM_CONTENT_TYPE, problem_body
from channels_api.schema.problems import (
    EXAMPLE_EXTRAS,
    ProblemCode,
    ProblemOutput,
    operation_problems,
)

# Checked in this order: the first permission class a view has that is listed here.
KEY_NOTES: list[tuple[type, str]] = [
    (
        IsUnrestrictedSecretKey,
        "A secret key (`sk_...`) that is not limited to one channel.",
    ),
    (
        IsSecretKey,
        "A secret key (`sk_...`). A key limited to one channel sees and changes only that "
        "channel's data.",
    ),
    (
        IsPublishableKey,
        "A channel's publishable key (`pk_...`): the operation sees and changes only that "
        "channel's data.",
    ),
    (IsFulfiller, "A courier's fulfiller token (`ft_...`): only the orders it was issued for."),
    (
        SignedByPaymentProvider,
        "None: the payment provider signs each event (Stripe: `Stripe-Signature`, checked "
        "against the raw body with STRIPE_WEBHOOK_SECRET).",
    ),
]

IDEMPOTENCY_KEY = OpenApiParameter(
    HEADER,
    {"type": "string", "minLength": 1, "maxLength": MAX_KEY_LENGTH},
    OpenApiParameter.HEADER,
    required=False,
    description=(
        f"Makes a retry safe: 1 to {MAX_KEY_LENGTH} characters you choose (a UUID), scoped to "
        "the credential that sends it (the API key, or a courier's fulfiller token). The first "
        "answer (status and body, errors included) is stored and a "
        f"repeat with the same body gets it again with `{REPLAY_HEADER}: true`, without doing "
        "the work twice. The same key with another body is 422 `idempotency_key_reused`; "
        "while the first request still runs, 409 `idempotency_key_in_use`. 5xx answers are "
        "not stored."
    ),
)
REPLAYED_HEADER = {
    "schema": {"type": "string", "enum": ["true"]},
    "description": "`true` when this is the stored answer to an earlier request with the same "
    "Idempotency-Key (nothing was done again); absent otherwise.",
}
RETRY_AFTER_HEADER = {
    "schema": {"type": "integer", "minimum": 1},
    "required": True,
    "description": "Seconds to wait before the next request with this credential.",
}


def key_note(view: Any) -> str | None:
    for permission in getattr(view, "permission_classes", []):
        for permission_class, note in KEY_NOTES:
            if issubclass(permission, permission_class):
                return note
    return None


class ApiKeyAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "channels_api.authentication.ApiKeyAuthentication"
    name = "apiKey"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "A publishable key (pk_...) for /store, a secret (sk_...) for /admin.",
        }


class ApiAutoSchema(AutoSchema):
    """Describes each operation from its view (see the module docstring).

    List endpoints are GETs of views that paginate; detail views set no paginator.
    """

    def _is_list_view(self, serializer=None) -> bool:
        if self.method == "GET" and getattr(self.view, "pagination_class", None) is not None:
            return True
        return super()._is_list_view(serializer)

    # --- texts -----------------------------------------------------------------------------
    def _view_method(self) -> Any:
        return getattr(self.view, self.method.lower(), None)

    def _docstring(self) -> tuple[str, str]:
        """The view method's own docstring as (summary, description); never a base class's."""
        text = inspect.cleandoc(getattr(self._view_method(), "__doc__", None) or "")
        summary, _, description = text.partition("\n")
        return summary.strip(), description.strip()

    def get_summary(self) -> str | None:
        return self._docstring()[0] or None

    def get_description(self) -> str:
        return self._docstring()[1]

    def is_idempotent(self) -> bool:
        return self.method == "POST" and getattr(self._view_method(), "idempotent", False)

    def _notes(self) -> list[str]:
        notes = []
        note = key_note(self.view)
        if note:
            notes.append(f"**Key:** {note}")
        if self.is_idempotent():
            notes.append(
                f"**Idempotent:** send an `{HEADER}` so that a retry (after a timeout or a lost "
                f"answer) never does the work twice; answers are kept "
                f"{settings.IDEMPOTENCY_TTL_HOURS} hours."
            )
        return notes

    # --- parameters and answers -------------------------------------------------------------
    def get_override_parameters(self) -> list:
        parameters = super().get_override_parameters()
        return [*parameters, IDEMPOTENCY_KEY] if self.is_idempotent() else parameters

    def get_operation(self, path, path_regex, path_prefix, method, registry):
        operation = super().get_operation(path, path_regex, path_prefix, method, registry)
        if operation is None:
            return None
        description = "\n\n".join(filter(None, [operation.get("description"), *self._notes()]))
        if description:
            operation["description"] = description
        parameters = operation.get("parameters", [])
        problems = operation_problems(
            view_method=self._view_method(),
            method=self.method,
            has_path_parameters=any(p["in"] == "path" for p in parameters),
            idempotent=self.is_idempotent(),
        )
        responses = operation["responses"]
        for status, codes in problems.items():
            responses[str(status)] = self._problem_response(status, codes)
        if self.is_idempotent():
            replayable = {
                str(s) for s, codes in problems.items() if any(c.replayable for c in codes)
            }
            for status, response in responses.items():
                if status < "300" or status in replayable:
                    response.setdefault("headers", {})[REPLAY_HEADER] = copy.deepcopy(
                        REPLAYED_HEADER
                    )
        if "429" in responses:
            responses["429"].setdefault("headers", {})["Retry-After"] = copy.deepcopy(
                RETRY_AFTER_HEADER
            )
        operation["responses"] = dict(sorted(responses.items()))
        return operation

    def _problem_response(self, status: int, codes: list[ProblemCode]) -> dict:
        description = "\n".join(f"- `{code.code}`: {code.meaning}" for code in codes)
        examples = [
            OpenApiExample(
                code.code,
                value=problem_body(
                    status, code.code, code.meaning, **EXAMPLE_EXTRAS.get(code.code, {})
                ),
                media_type=PROBLEM_CONTENT_TYPE,
                status_codes=[str(status)],
                response_only=True,
            )
            for code in codes
        ]
        response = OpenApiResponse(ProblemOutput, description=description, examples=examples)
        return self._get_response_for_code(response, str(status), [PROBLEM_CONTENT_TYPE])

    # --- field defaults ---------------------------------------------------------------------
    def _insert_field_validators(self, field, schema) -> None:
        """A field's `default` must hold under its own schema (generators and validators check).

        A blank default is the server's own "not given": where a blank value has a branch of
        its own (`allow_blank` on a format) or is refused (`minLength` 1), it is no default a
        client could send, and is left out. Another default moves up beside its `oneOf`.
        """
        super()._insert_field_validators(field, schema)
        for branch in schema.get("oneOf", []):
            if "default" in branch:
                default = branch.pop("default")
                if default != "":
                    schema["default"] = default
        default = schema.get("default")
        if isinstance(default, str) and len(default) < schema.get("minLength", 0):
            del schema["default"]
