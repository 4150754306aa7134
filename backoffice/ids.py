"""Row ids from paths and query strings: ASCII digits that fit a bigint, or nothing."""

from __future__ import annotations


def is_id(text: object) -> bool:
    """Whether a value is a plausible row id (Python also counts "²" as a digit; we do not)."""
    text = str(text)
    return text.isascii() and text.isdigit() and len(text) <= 18


def parse_id(text: object) -> int | None:
    return int(str(text)) if is_id(text) else None
