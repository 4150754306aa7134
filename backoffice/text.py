"""Strings no text column can store, wherever they come from (an API body, a PSP's event).

A NUL: PostgreSQL refuses it in text and JSON. A lone UTF-16 surrogate (JSON's `\\ud800`
escape decodes to one): it has no UTF-8 form, so neither the database nor an answer that
echoes it can be written. Both are refused where the input is read, naming where they are,
before anything stores or renders them.
"""

from __future__ import annotations

import json
import re
from typing import Any

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
UNSTORABLE_MESSAGE = (
    "May not contain NUL (\\u0000) characters or lone surrogates (\\ud800-\\udfff)."
)


def unstorable(text: str) -> bool:
    return _UNSTORABLE.search(text) is not None


def _escaped(key: str) -> str:
    """A key as an error names it: unstorable characters written as JSON escapes."""
    return json.dumps(key)[1:-1] if unstorable(key) else key


def unstorable_string_at(data: Any) -> str | None:
    """Where in parsed JSON the first key or string holding a NUL or a lone surrogate is,
    named as field errors are (`lines.0.sku`; a bad key by its escaped self,
    `non_field_errors` for a bare string); None if nowhere. Iterative: no recursion,
    whatever the nesting."""
    pending: list[tuple[tuple[str, ...], Any]] = [((), data)]
    while pending:
        path, value = pending.pop()
        if isinstance(value, str):
            if unstorable(value):
                return ".".join(path) or "non_field_errors"
        elif isinstance(value, dict):
            for key, item in value.items():
                if unstorable(key):
                    return ".".join((*path, _escaped(key)))
                pending.append(((*path, key), item))
        elif isinstance(value, list):
            pending.extend(((*path, str(index)), item) for index, item in enumerate(value))
    return None
