"""Per-credential rate limits (API keys, courier tokens): a one-minute window in the cache."""

from __future__ import annotations

import logging
import time

from django.conf import settings
from django.core.cache import cache
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle

from channels_api.models import ApiKey

WINDOW_SECONDS = 60
logger = logging.getLogger(__name__)


class ApiKeyRateThrottle(BaseThrottle):
    """A key's own `rate_limit` wins over API_RATE_LIMIT; 0 means no limit."""

    def allow_request(self, request: Request, view: object) -> bool:
        credential = request.auth  # an ApiKey, or a courier's FulfillerAccess
        if credential is None or getattr(credential, "pk", None) is None:
            return True
        own_limit = (
            getattr(credential, "rate_limit", None) if isinstance(credential, ApiKey) else None
        )
        limit = own_limit if own_limit is not None else settings.API_RATE_LIMIT
        if not limit:
            return True
        now = time.time()
        window = int(now // WINDOW_SECONDS)
        cache_key = f"rate:{type(credential).__name__}:{credential.pk}:{window}"
        try:
            # add() creates the counter only when absent; incr() is atomic in every backend.
            cache.add(cache_key, 0, timeout=WINDOW_SECONDS * 2)
            count = cache.incr(cache_key)
        except ValueError:  # the counter expired between add() and incr()
            count = 1
        except Exception:  # the cache is down: selling goes on, limits resume with it
            logger.warning("Rate-limit cache unavailable; request allowed.", exc_info=True)
            return True
        self._wait = (window + 1) * WINDOW_SECONDS - now
        return count <= limit

    def wait(self) -> float | None:
        return getattr(self, "_wait", None)
