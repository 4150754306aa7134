"""The store's product pages from the shared cache, with conditional requests (ETag, 304).

A page's answer is cached (Django's cache: Redis in production and tests, local memory
under `make run` without one) under a key made of the channel, the request's full URL
(path, filters, page; the `next` link is built from it) and the versions of the catalog,
the channels and the warehouses (`backoffice.versions`), and for a product page its
product's stock version; a list page holds its products' stock versions and is served
while they stand (`catalog.stock_versions`: per product, so a sale of one product leaves
the other products' pages cached). Every write to those tables that can change what a
page shows, by whatever process, changes a version in the writer's own transaction, so
a request that starts after the change committed builds a new key or finds its page's
versions changed: no stale price, listing or stock is served. What changes by itself is
the expiry of a hold: a cached page is good only until the first active hold on its stock
rows expires (`channel_availability_until`).

The answer carries a strong `ETag` (a digest of its bytes) and `Cache-Control: public,
no-cache` with `Vary: Authorization`: a CDN or browser may keep it per key, and must ask
again each time, which costs an `If-None-Match` round trip answered 304 without a body.
A cache that fails (Redis down) is a miss, never an error.
"""

from __future__ import annotations

import hashlib
import logging
import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.http import HttpResponse, HttpResponseNotModified
from django.utils import timezone
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request

from backoffice.versions.current import versions_of
from catalog.models import Channel
from catalog.stock_versions import PRODUCT_PAGE, stock_versions_current

logger = logging.getLogger(__name__)

# What a product page shows depends on these kinds of data (and its products' stock
# versions), and on nothing else.
BROWSE_KINDS = ("catalog", "channels", "stock", PRODUCT_PAGE)
CACHE_CONTROL = "public, no-cache"
VARY = "Authorization"
_IF_NONE_MATCH_MAX = 4096  # longer lists are not compared: a miss


@dataclass(frozen=True)
class CachedPage:
    body: bytes
    etag: str
    valid_until: datetime | None  # the first hold expiry on its stock rows
    stock: tuple[tuple[int, int], ...] = ()  # a list's products' stock versions

    def fresh(self, now: datetime) -> bool:
        return self.valid_until is None or now < self.valid_until


# What a page's `build` returns: its data, the moment it stops holding by itself, and the
# stock versions of its products read before their availability (a list page's; {} for a
# product page, whose key has its product's).
Built = tuple[Any, datetime | None, dict[int, int]]


def browse_answer(request: Request, channel: Channel, build: Callable[[], Built]) -> HttpResponse:
    """The page from the cache, or `build()`'s, cached; 304 when `If-None-Match` names its
    ETag. A cached list page is checked against its products' stock versions (one
    statement)."""
    key = browse_key(request, channel)
    now = timezone.now()
    page = _cache_get(key)
    if page is None or not page.fresh(now) or not stock_versions_current(dict(page.stock)):
        data, valid_until, stock = build()
        body = JSONRenderer().render(data)
        page = CachedPage(
            body=body, etag=etag_of(body), valid_until=valid_until, stock=tuple(stock.items())
        )
        _cache_set(key, page, now)
    if etag_matches(request.headers.get("If-None-Match"), page.etag):
        response = HttpResponseNotModified()
    else:
        response = HttpResponse(page.body, content_type="application/json")
    response["ETag"] = page.etag
    response["Cache-Control"] = CACHE_CONTROL
    response["Vary"] = VARY
    return response


def browse_key(request: Request, channel: Channel) -> str:
    """The channel, the versions its pages depend on (a product page's stock version too),
    and the full URL asked."""
    versions = ".".join(str(version) for version in versions_of(*BROWSE_KINDS))
    url = hashlib.sha256(request.build_absolute_uri().encode()).hexdigest()
    return f"store:products:{channel.pk}:{versions}:{url}"


def etag_of(body: bytes) -> str:
    """A strong entity tag: the digest of the exact bytes sent."""
    return f'"{hashlib.sha256(body).hexdigest()[:32]}"'


def etag_matches(header: str | None, etag: str) -> bool:
    """Whether `If-None-Match` names this ETag (RFC 9110: weak comparison, `*` for any).

    Anything malformed simply does not match.
    """
    if not header or len(header) > _IF_NONE_MATCH_MAX:
        return False
    if header.strip() == "*":
        return True
    for candidate in header.split(","):
        candidate = candidate.strip()
        if candidate.startswith("W/"):
            candidate = candidate[2:]
        if candidate == etag:
            return True
    return False


def _cache_get(key: str) -> CachedPage | None:
    try:
        page = cache.get(key)
    except Exception:  # the cache is an optimisation: a failing one is a miss
        logger.warning("store page cache unavailable (read)", exc_info=True)
        return None
    return page if isinstance(page, CachedPage) else None


def _cache_set(key: str, page: CachedPage, now: datetime) -> None:
    seconds = settings.STORE_CACHE_SECONDS
    if page.valid_until is not None:
        seconds = min(seconds, math.floor((page.valid_until - now).total_seconds()))
    if seconds <= 0:
        return
    try:
        cache.set(key, page, timeout=seconds)
    except Exception:
        logger.warning("store page cache unavailable (write)", exc_info=True)
