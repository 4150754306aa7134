"""The cache and the broker on the test Redis: one `redis.Redis` per connection pool, reused
for every command and every publish (backoffice/redis_clients.py), and both still work."""

from __future__ import annotations

import os

import redis
from django.conf import settings
from django.core.cache import cache

from backoffice.celery import app
from backoffice.jobs import send_now
from backoffice.redis_clients import RedisCacheClient
from tests.outbox.conftest import app_broker, queued_tasks


def test_the_cache_reuses_one_client_and_works():
    assert settings.CACHES["default"]["BACKEND"] == "backoffice.redis_clients.RedisCache"
    backend = cache._cache
    assert isinstance(backend, RedisCacheClient)
    client = backend.get_client(write=True)

    assert backend.get_client() is client
    assert backend.get_client("any-key", write=True) is client

    cache.delete("redis-clients:flag")
    assert cache.add("redis-clients:flag", 1, timeout=5) is True
    assert cache.add("redis-clients:flag", 2, timeout=5) is False
    assert cache.get("redis-clients:flag") == 1
    assert cache.delete("redis-clients:flag") is True
    assert cache.get("redis-clients:flag") is None


def test_the_broker_publishes_with_one_client_and_every_message_arrives():
    assert app.conf.broker_transport == "backoffice.redis_clients:Transport"
    url = f"redis://127.0.0.1:{os.environ['TEST_REDIS_PORT']}/8"
    redis.Redis.from_url(url).flushdb()
    with app_broker(url):
        assert send_now("tests.redis_clients.first", 1)
        with app.producer_or_acquire() as producer:
            channel = producer.channel
            client = channel._create_client()
            assert channel._create_client() is client
            assert client.connection_pool is channel.pool
        assert send_now("tests.redis_clients.second", 2)
        assert send_now("tests.redis_clients.second", 3)

    assert queued_tasks(url) == [
        ("tests.redis_clients.first", [1]),
        ("tests.redis_clients.second", [2]),
        ("tests.redis_clients.second", [3]),
    ]
    redis.Redis.from_url(url).flushdb()
