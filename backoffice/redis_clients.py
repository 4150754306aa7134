"""Redis clients built once per connection pool, for the cache and the Celery broker.

Django's Redis cache and kombu's Redis transport both build a new `redis.Redis` around
their connection pool for every command or publish. The object holds no connection (the
pool does) but its constructor fills a table of about 170 response callbacks: 0.13 ms of
CPU each time on this machine, two of them per checkout (the outbox nudge's `cache.add`
and the placed order's task message), about 5 % of its CPU (docs/performance.md, "Round
six"). A `redis.Redis` over a pool is safe to share between threads (each command takes
a connection from the pool and gives it back), so one per pool does the same work.

`backoffice/settings.py` selects them when the cache or the broker is Redis:
`CACHES["default"]["BACKEND"] = "backoffice.redis_clients.RedisCache"` and
`CELERY_BROKER_TRANSPORT = "backoffice.redis_clients:Transport"` (for `redis://` and
`rediss://` broker URLs, `backoffice/broker.py`).
"""

from __future__ import annotations

from django.core.cache.backends.redis import RedisCache as DjangoRedisCache
from django.core.cache.backends.redis import RedisCacheClient as DjangoRedisCacheClient
from kombu.transport import redis as kombu_redis


class RedisCacheClient(DjangoRedisCacheClient):
    """Django's, with one client per pool (the pool is chosen as Django does)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._clients: dict[int, object] = {}

    def get_client(self, key=None, *, write=False):
        index = self._get_connection_pool_index(write)
        client = self._clients.get(index)
        if client is None:
            if index not in self._pools:
                self._pools[index] = self._pool_class.from_url(
                    self._servers[index], **self._pool_options
                )
            # Two threads may both build one the first time: either is fine to keep.
            client = self._clients[index] = self._client(connection_pool=self._pools[index])
        return client


class RedisCache(DjangoRedisCache):
    """`django.core.cache.backends.redis.RedisCache` with `RedisCacheClient` above."""

    def __init__(self, server, params) -> None:
        super().__init__(server, params)
        self._class = RedisCacheClient


class Channel(kombu_redis.Channel):
    """kombu's Redis channel, keeping the client it publishes with while its pool lives."""

    _sync_client = None

    def _create_client(self, asynchronous=False):
        if asynchronous:
            return super()._create_client(asynchronous=True)
        client = self._sync_client
        # A channel that was closed drops its pool; the next use builds a new pool, and
        # then a new client around it.
        if client is None or client.connection_pool is not self.pool:
            client = self._sync_client = super()._create_client()
        return client


class Transport(kombu_redis.Transport):
    """kombu's Redis transport (`redis://`, `rediss://` broker URLs) with the channel above."""

    Channel = Channel
