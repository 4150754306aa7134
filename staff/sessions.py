"""Staff sessions: Django's database sessions, where a cookie that is no session key is
no session.

Django takes any cookie of 8 characters or more as a key to look up. One holding a NUL
(a quoted cookie may write it as `\\000`) then reaches PostgreSQL, which refuses NUL in
text: every admin page answered 500 to such a cookie. A key Django makes is 32 of
`VALID_KEY_CHARS`; anything else is treated as no session (a new one, the login page).
"""

from __future__ import annotations

from django.contrib.sessions.backends import db
from django.contrib.sessions.backends.base import VALID_KEY_CHARS

KEY_LENGTH = 32
_KEY_CHARS = frozenset(VALID_KEY_CHARS)


class SessionStore(db.SessionStore):
    def _validate_session_key(self, key: str | None) -> bool:
        return bool(key) and len(key) == KEY_LENGTH and _KEY_CHARS.issuperset(key)
