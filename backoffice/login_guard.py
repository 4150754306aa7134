"""Staff login that slows brute force: after too many failures, a username or an address
is locked out for a while, whatever password it tries next (the counters live in the cache)."""

from __future__ import annotations

import hashlib
import logging

from django.conf import settings
from django.contrib.auth.backends import ModelBackend
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest

from backoffice.client_address import client_address

logger = logging.getLogger(__name__)


def _keys(request: HttpRequest | None, username: str | None) -> list[str]:
    # The username as a digest: whatever was typed (spaces, control characters, any
    # length), the key stays short and valid for every cache backend.
    typed = (username or "").strip().lower()
    digest = hashlib.sha256(typed.encode("utf-8", "surrogatepass")).hexdigest()
    keys = [f"login-failures:user:{digest}"]
    if request is not None:
        keys.append(f"login-failures:ip:{client_address(request)}")
    return keys


class ThrottledModelBackend(ModelBackend):
    """Django's username/password check, refused while the username or address is locked."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        keys = _keys(request, username)
        limit = settings.LOGIN_FAILURE_LIMIT
        try:
            counts = cache.get_many(keys)
        except Exception:  # the cache is down: fall back to Django's plain check
            counts = {}
        if any(count >= limit for count in counts.values()):
            logger.warning("Locked-out staff login attempt for %r.", username)
            raise PermissionDenied("Too many failed logins; try again later.")
        user = super().authenticate(request, username=username, password=password, **kwargs)
        try:
            if user is None:
                for key in keys:
                    cache.add(key, 0, timeout=settings.LOGIN_LOCKOUT_SECONDS)
                    cache.incr(key)
            else:
                cache.delete(keys[0])
        except Exception:
            logger.warning("Login failure counter unavailable.", exc_info=True)
        return user
