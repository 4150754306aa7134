"""Secrets we must use again (webhook signing secrets) are encrypted at rest.

Fernet (AES-128-CBC with HMAC-SHA256) from `cryptography`. Keys come from
`ENCRYPTION_KEYS` (comma-separated Fernet keys, newest first, so old ciphertext
still opens during a key rotation); without it, one key is derived from
SECRET_KEY. `EncryptedTextField` stores ciphertext and hands back plain text.
"""

from __future__ import annotations

import base64
import hashlib
from functools import cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.db import models

PREFIX = "enc1:"


@cache
def _cipher() -> MultiFernet:
    keys = [key.strip() for key in settings.ENCRYPTION_KEYS if key.strip()]
    if not keys:
        digest = hashlib.sha256(f"backoffice-at-rest:{settings.SECRET_KEY}".encode()).digest()
        keys = [base64.urlsafe_b64encode(digest).decode()]
    return MultiFernet([Fernet(key) for key in keys])


def encrypt(plain: str) -> str:
    return PREFIX + _cipher().encrypt(plain.encode()).decode()


def decrypt(stored: str) -> str:
    """Plain text of a stored value (values written before encryption pass through)."""
    if not stored.startswith(PREFIX):
        return stored
    try:
        return _cipher().decrypt(stored[len(PREFIX) :].encode()).decode()
    except InvalidToken as error:
        raise ValueError("A stored secret cannot be decrypted with ENCRYPTION_KEYS.") from error


class EncryptedTextField(models.TextField):
    """Text encrypted in the database, plain in Python. Not searchable, by design."""

    def from_db_value(self, value, expression, connection):
        return value if value in (None, "") else decrypt(value)

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        return value if value in (None, "") else encrypt(value)
