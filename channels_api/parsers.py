"""JSON bodies: nested at most API_MAX_JSON_DEPTH levels, with no NUL characters.

Every JSON body of the API goes through `StrictJSONParser`. The nesting is measured
on the raw text, before anything recursive (the JSON decoder, the serializers, the
idempotency fingerprint) sees it: a body nested thousands of levels deep would
otherwise raise RecursionError (a 500) in whichever of them meets it first. NUL
characters are refused because PostgreSQL cannot store them in text or JSON.
"""

from __future__ import annotations

import re
from itertools import accumulate, repeat
from typing import Any

from django.conf import settings
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser
from rest_framework.settings import api_settings
from rest_framework.utils import json

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


def _has_nul(data: Any) -> bool:
    """Whether any key or string in parsed JSON holds a NUL (iterative: no recursion)."""
    pending = [data]
    while pending:
        value = pending.pop()
        if isinstance(value, str):
            if "\x00" in value:
                return True
        elif isinstance(value, dict):
            pending.extend(value.keys())
            pending.extend(value.values())
        elif isinstance(value, list):
            pending.extend(value)
    return False


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
        if _has_nul(data):
            raise ParseError("JSON strings may not contain NUL (\\u0000) characters.")
        return data
