"""Per-API-key rate limits: a fixed one-minute window counted in the shared cache."""

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
        api_key = request.auth
        if not isinstance(api_key, ApiKey):
            return True
        limit = api_key.rate_limit if api_key.rate_limit is not None else settings.API_RATE_LIMIT
        if not limit:
            return True
        now = time.time()
        window = int(now // WINDOW_SECONDS)
        cache_key = f"rate:{api_key.pk}:{window}"
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
