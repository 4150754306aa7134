"""JSON bodies: nested at most API_MAX_JSON_DEPTH levels, with no NUL or lone surrogate.

Every JSON body of the API goes through `StrictJSONParser`. The nesting is measured
on the raw text, before anything recursive (the JSON decoder, the serializers, the
idempotency fingerprint) sees it: a body nested thousands of levels deep would
otherwise raise RecursionError (a 500) in whichever of them meets it first. A NUL
character (PostgreSQL cannot store it in text or JSON) or a lone UTF-16 surrogate (it has
no UTF-8 form) in any key or string is a 400 `invalid` naming that field, here, once for
every endpoint: no serializer field has to know.
"""

from __future__ import annotations

import re
from itertools import accumulate, repeat
from typing import Any

from django.conf import settings
from rest_framework.exceptions import ParseError, ValidationError
from rest_framework.parsers import JSONParser
from rest_framework.settings import api_settings
from rest_framework.utils import json

from backoffice.text import UNSTORABLE_MESSAGE, unstorable_string_at

# A JSON string with its escapes, or an unterminated one up to the end (the decoder refuses
# it later). Possessive, so a body of escaped quotes is still read once, in linear time.
_STRING = re.compile(r'"[^"\\]*+(?:\\.[^"\\]*+)*+\\?(?:"|\Z)', re.DOTALL)
_DEPTH_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}


def json_depth(text: str) -> int:
    """How deep arrays and objects nest in the JSON `text`, read without parsing it.

    Strings are cut out first (brackets in them do not count); then the running sum of
    +1 per opening and -1 per closing bracket is taken, in C, with no recursion.
    """
    outside_strings = _STRING.sub("", text)
    steps = map(_DEPTH_STEP.get, outside_strings, repeat(0))
    return max(accumulate(steps), default=0)


class StrictJSONParser(JSONParser):
    def parse(self, stream, media_type=None, parser_context=None) -> Any:
        parser_context = parser_context or {}
        encoding = parser_context.get("encoding", settings.DEFAULT_CHARSET)
        try:
            text = stream.read().decode(encoding)
        except UnicodeDecodeError as error:
            raise ParseError(f"The body is not valid {encoding}.") from error
        limit = settings.API_MAX_JSON_DEPTH
        if json_depth(text) > limit:
            raise ParseError(f"JSON may nest arrays and objects at most {limit} levels deep.")
        try:
            parse_constant = json.strict_constant if api_settings.STRICT_JSON else None
            data = json.loads(text, parse_constant=parse_constant)
        except ValueError as error:
            raise ParseError(f"JSON parse error - {error}") from error
        # Both reach a parsed string only through a `\u` escape (a raw NUL is a control
        # character the decoder refuses; a raw surrogate is not valid UTF-8): most bodies
        # have none, and are not walked.
        field = unstorable_string_at(data) if "\\u" in text else None
        if field is not None:
            raise ValidationError({field: [UNSTORABLE_MESSAGE]})
        return data
