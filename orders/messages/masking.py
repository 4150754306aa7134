"""Hide email addresses and phone numbers typed into messages from the other participants.

Emails are found by their shape. Phone numbers are runs of digit groups with an
optional `+` or `00` prefix, separated by single spaces, dots, dashes or parentheses,
holding 9 to 15 digits; before looking for them, prices (19.99, 1,299.00), dates
(2024-05-01, 01/05/2024, 12.05.2024), times and US ZIP+4 codes are set aside so they
are never mistaken for one. Order numbers and postcodes are too short to qualify.
"""

from __future__ import annotations

import re

EMAIL_MASK = "[email hidden]"
PHONE_MASK = "[phone hidden]"

EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
# Set aside before phones are looked for: (pattern, why).
PROTECTED = [
    re.compile(
        r"(?<![\d./-])\d{4}-\d{1,2}-\d{1,2}(?:[T ]\d{1,2}:\d{2}(?::\d{2})?)?\b"
    ),  # ISO dates
    re.compile(r"(?<![\d./-])\d{1,2}[./-]\d{1,2}[./-](?:\d{4}|\d{2})\b(?![./-]\d)"),  # 01/05/2024
    re.compile(r"\b\d{1,2}:\d{2}(?::\d{2})?\b"),  # times
    re.compile(r"(?<![\d.,])\d{1,3}(?:,\d{3})+(?:\.\d{1,2})?(?![\d,.]\d)"),  # 1,299.00
    re.compile(r"(?<![\d.,])\d+[.,]\d{2}(?![\d]|[.,]\d)"),  # 19.99 and 19,99
    re.compile(r"\b\d{5}-\d{4}\b"),  # ZIP+4
]
GROUP = r"(?:\(\d{1,5}\)|\d{1,15})"
PHONE = re.compile(
    rf"(?<![\w@+\x00])(?:\+|00)?{GROUP}(?:(?:[ .-]|(?<=\))|(?=\())[ ]?{GROUP}){{0,7}}(?![\w@]|\x00)"
)
PLACEHOLDER = re.compile(r"\x00(\d+)\x00")


def _is_phone(candidate: str) -> bool:
    digits = sum(character.isdigit() for character in candidate)
    if not 9 <= digits <= 15:
        return False
    groups = re.findall(r"\d+", candidate)
    if len(groups) == 1:
        return True
    # Written in groups, a phone starts with at most 5 digits and no group has more than 6
    # (so "100042 100043", two order numbers, is not one).
    return len(groups[0]) <= 5 and all(len(group) <= 6 for group in groups[1:])


def contacts_mask(text: str) -> str:
    """The text with every email address and phone number replaced by a placeholder."""
    text = EMAIL.sub(EMAIL_MASK, text)
    kept: list[str] = []

    def keep(match: re.Match) -> str:
        kept.append(match.group(0))
        return f"\x00{len(kept) - 1}\x00"

    for pattern in PROTECTED:
        text = pattern.sub(keep, text)
    text = PHONE.sub(
        lambda match: PHONE_MASK if _is_phone(match.group(0)) else match.group(0), text
    )
    return PLACEHOLDER.sub(lambda match: kept[int(match.group(1))], text)
