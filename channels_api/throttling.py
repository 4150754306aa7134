"""Rate limits in the shared cache: per credential (API keys, courier tokens, a one-minute
window), and failed order lookups per order number and per client address."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

from django.conf import settings
from django.core.cache import cache
from rest_framework.exceptions import Throttled
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle

from channels_api.models import ApiKey

WINDOW_SECONDS = 60
logger = logging.getLogger(__name__)


def _count_in_window(
    name: str, window_seconds: int = WINDOW_SECONDS
) -> tuple[str, int, float] | None:
    """Add one to the counter `name` of the current clock window of `window_seconds`.

    Returns (the window's cache key, its count, seconds until the window ends), or None
    when the cache is down: selling goes on, and the limits resume with the cache.
    """
    now = time.time()
    window = int(now // window_seconds)
    key = f"{name}:{window}"
    try:
        # add() creates the counter only when absent; incr() is atomic in every backend.
        cache.add(key, 0, timeout=window_seconds * 2)
        count = cache.incr(key)
    except ValueError:  # the counter expired between add() and incr()
        count = 1
    except Exception:
        logger.warning("Rate-limit cache unavailable; request allowed.", exc_info=True)
        return None
    return key, count, (window + 1) * window_seconds - now


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
        counted = _count_in_window(f"rate:{type(credential).__name__}:{credential.pk}")
        if counted is None:
            return True
        _, count, self._wait = counted
        return count <= limit

    def wait(self) -> float | None:
        return getattr(self, "_wait", None)


@dataclass
class LookupAttempt:
    """The places one order lookup holds in the failed-lookup counters of its window."""

    keys: list[str] = field(default_factory=list)

    def settle(self, *, missed: bool) -> None:
        """A miss keeps its places (it counts as a failed lookup); any other answer gives
        them back, so a customer asking after their own order is never limited."""
        if not missed:
            _give_back(self.keys)
            self.keys = []


def order_lookup_attempt(*, number: int | None, address: str) -> LookupAttempt:
    """Take a place in the window's failed lookups of this client address, then of this
    order number (when it is one); raise Throttled when either is full.

    Order numbers are sequential and publishable keys are public, so the per-key rate
    limit alone would let anyone guess an order's email or phone: at most
    ORDER_LOOKUP_FAILURES_PER_NUMBER misses per order number and
    ORDER_LOOKUP_FAILURES_PER_ADDRESS per client address are allowed in each window of
    ORDER_LOOKUP_WINDOW_SECONDS, whatever the key. A full counter refuses every lookup
    of that number (or from that address), a right guess too, so a refusal tells nothing.
    Places are taken before the lookup runs, so concurrent guesses cannot slip past the
    count. When the cache is down, lookups go on (logged), as other limits do.
    """
    window_seconds = max(1, settings.ORDER_LOOKUP_WINDOW_SECONDS)
    attempt = LookupAttempt()
    counters = [("address", address, settings.ORDER_LOOKUP_FAILURES_PER_ADDRESS)]
    if number is not None:
        counters.append(("number", str(number), settings.ORDER_LOOKUP_FAILURES_PER_NUMBER))
    for kind, value, limit in counters:
        if not limit:
            continue
        counted = _count_in_window(f"lookup-failures:{kind}:{value}", window_seconds)
        if counted is None:
            return attempt
        key, count, wait = counted
        attempt.keys.append(key)
        if count > limit:
            _give_back(attempt.keys)  # a refused lookup is no failed lookup
            raise Throttled(wait=wait, detail="Too many failed order lookups; try again later.")
    return attempt


def _give_back(keys: list[str]) -> None:
    for key in keys:
        try:
            cache.decr(key)
        except Exception:  # expired meanwhile, or the cache is down: nothing to give back
            logger.debug("Could not give back %s.", key, exc_info=True)
