"""Live events for open streams: a bounded log per topic, pushed to every process.

`publish(topics, type, data)` appends the event to each topic's log and pushes it to
every process that has a stream open on the topic. With Redis (STREAM_REDIS_URL, by
default the Redis of CACHE_URL) the log is a Redis stream per topic, trimmed to
STREAM_LOG_LENGTH entries and kept STREAM_LOG_TTL_SECONDS after its last event, and the
push is Redis pub/sub: one Lua call does both, so the push carries the id the log
gave the event. A stream resumes from `Last-Event-ID` by reading the log after that id;
an id older than what the log keeps answers None, and the stream starts again from a
snapshot. Without Redis (`make run`), the log and the push live in this process only:
events published by another process (a Celery worker, a second server) are not seen,
which is why the settings log a warning at startup when they are configured that way.

Publishing never fails the caller: the database is the truth, a lost event is made up
by the snapshot a stream sends when it (re)connects.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import re
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Any

from django.conf import settings

logger = logging.getLogger(__name__)
KEY_PREFIX = "bo:stream:"
# A Redis stream entry id: two unsigned 64-bit numbers, in ASCII digits (`\d` would take
# other scripts' digits, and `$` a trailing newline, which Redis refuses).
EVENT_ID = re.compile(r"[0-9]{1,20}-[0-9]{1,20}")
EVENT_ID_PART_MAX = 2**64 - 1
# Published, not an event: the stream must read the log again (the push was interrupted).
RESYNC = "resync"

PUBLISH_SCRIPT = """
local ids = {}
for index, key in ipairs(KEYS) do
  local id = redis.call('XADD', key, 'MAXLEN', '~', ARGV[1], '*', 't', ARGV[3], 'd', ARGV[4])
  redis.call('PEXPIRE', key, ARGV[2])
  redis.call('PUBLISH', key, id .. '\\n' .. ARGV[3] .. '\\n' .. ARGV[4])
  ids[index] = id
end
return ids
"""


@dataclass(frozen=True)
class Event:
    id: str
    type: str
    data: dict[str, Any]


def event_id_valid(value: str | None) -> bool:
    """Whether `value` could be an id a stream sent: one Redis takes back, so a resume from it
    is a question about the log, never an error of Redis's."""
    if not value or not EVENT_ID.fullmatch(value):
        return False
    return max(_id_key(value)) <= EVENT_ID_PART_MAX


def _id_key(event_id: str) -> tuple[int, int]:
    first, _, second = event_id.partition("-")
    return int(first), int(second)


def id_after(event_id: str, other: str | None) -> bool:
    return other is None or _id_key(event_id) > _id_key(other)


class RedisBroker:
    """The log is a Redis stream per topic; the push is pub/sub on the same name."""

    shared = True

    def __init__(self, url: str) -> None:
        import redis

        self.url = url
        self.client = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        self.script = self.client.register_script(PUBLISH_SCRIPT)
        self.hubs: dict[asyncio.AbstractEventLoop, RedisHub] = {}

    def publish(self, topics: list[str], type: str, data: dict[str, Any]) -> list[str]:
        keys = [KEY_PREFIX + topic for topic in topics]
        ttl_ms = settings.STREAM_LOG_TTL_SECONDS * 1000
        ids = self.script(
            keys=keys, args=[settings.STREAM_LOG_LENGTH, ttl_ms, type, json.dumps(data)]
        )
        return [i.decode() if isinstance(i, bytes) else i for i in ids]

    def backlog(self, topic: str, after: str | None) -> list[Event] | None:
        """Events after `after`; None when the log no longer reaches back to it."""
        if after is None:
            return []
        if _id_key(after) == (EVENT_ID_PART_MAX, EVENT_ID_PART_MAX):
            return []  # nothing can come after the last id there is (nor can Redis say so)
        key = KEY_PREFIX + topic
        first = self.client.xrange(key, count=1)
        if first and _id_key(after) < _id_key(first[0][0].decode()):
            return None
        entries = self.client.xrange(key, min=f"({after}", count=settings.STREAM_LOG_LENGTH)
        return [_entry(entry_id, fields) for entry_id, fields in entries]

    def latest(self, topic: str) -> Event | None:
        entries = self.client.xrevrange(KEY_PREFIX + topic, count=1)
        return _entry(*entries[0]) if entries else None

    def hub(self) -> Hub:
        """The one hub of the running event loop: its pub/sub connection serves every stream
        this process has open."""
        loop = asyncio.get_running_loop()
        hub = self.hubs.get(loop)
        if hub is None:
            hub = self.hubs[loop] = RedisHub(self.url)
        return hub


def _entry(entry_id: bytes, fields: dict) -> Event:
    return Event(entry_id.decode(), fields[b"t"].decode(), json.loads(fields[b"d"]))


class LocalBroker:
    """One process only (`make run`): a deque per topic and the subscribers' queues."""

    shared = False

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.logs: dict[str, deque[Event]] = {}
        self.sequence = itertools.count()
        self.local_hub = LocalHub()

    def publish(self, topics: list[str], type: str, data: dict[str, Any]) -> list[str]:
        ids = []
        with self.lock:
            event_id = f"{int(time.time() * 1000)}-{next(self.sequence)}"
            for topic in topics:
                event = Event(event_id, type, data)
                self.logs.setdefault(topic, deque(maxlen=settings.STREAM_LOG_LENGTH)).append(event)
                ids.append(event_id)
        for topic in topics:
            self.local_hub.deliver(topic, Event(event_id, type, data))
        return ids

    def backlog(self, topic: str, after: str | None) -> list[Event] | None:
        if after is None:
            return []
        with self.lock:
            log = list(self.logs.get(topic, ()))
        if log and _id_key(after) < _id_key(log[0].id) and not any(e.id == after for e in log):
            return None
        return [event for event in log if id_after(event.id, after)]

    def latest(self, topic: str) -> Event | None:
        with self.lock:
            log = self.logs.get(topic)
            return log[-1] if log else None

    def hub(self) -> Hub:
        return self.local_hub


class Subscription:
    """One open stream's queue of pushed events (bounded: a client that falls too far behind
    is closed and resumes with Last-Event-ID)."""

    def __init__(self, hub: Hub, topics: list[str]) -> None:
        self.hub = hub
        self.topics = topics
        self.loop = asyncio.get_running_loop()
        self.queue: asyncio.Queue[tuple[str, Event | None]] = asyncio.Queue(
            maxsize=settings.STREAM_QUEUE_LENGTH
        )
        self.overflowed = False

    def push(self, topic: str, event: Event | None) -> None:
        """Called on the subscription's loop."""
        if self.overflowed:
            return
        try:
            self.queue.put_nowait((topic, event))
        except asyncio.QueueFull:
            self.overflowed = True
            self.queue.get_nowait()
            self.queue.put_nowait(("", None))

    async def next(self, timeout: float) -> tuple[str, Event | None] | None:
        """The next pushed (topic, event); (topic, None) asks for a resync; None on timeout."""
        try:
            return await asyncio.wait_for(self.queue.get(), timeout)
        except TimeoutError:
            return None

    async def close(self) -> None:
        await self.hub.unsubscribe(self)


class Hub:
    async def subscribe(self, topics: list[str]) -> Subscription:  # pragma: no cover
        raise NotImplementedError

    async def unsubscribe(self, subscription: Subscription) -> None:  # pragma: no cover
        raise NotImplementedError


class LocalHub(Hub):
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.subscribers: dict[str, set[Subscription]] = {}

    async def subscribe(self, topics: list[str]) -> Subscription:
        subscription = Subscription(self, topics)
        with self.lock:
            for topic in topics:
                self.subscribers.setdefault(topic, set()).add(subscription)
        return subscription

    async def unsubscribe(self, subscription: Subscription) -> None:
        with self.lock:
            for topic in subscription.topics:
                self.subscribers.get(topic, set()).discard(subscription)

    def deliver(self, topic: str, event: Event) -> None:
        """From any thread: hand the event to each subscriber's own loop."""
        with self.lock:
            subscribers = list(self.subscribers.get(topic, ()))
        for subscription in subscribers:
            with contextlib.suppress(RuntimeError):  # its loop closed meanwhile
                subscription.loop.call_soon_threadsafe(subscription.push, topic, event)


class RedisHub(Hub):
    """One pub/sub connection per process (per event loop), shared by its open streams:
    a topic is subscribed while at least one local stream has it open."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.subscribers: dict[str, set[Subscription]] = {}
        self.pubsub = None
        self.reader: asyncio.Task | None = None
        self.lock = asyncio.Lock()

    async def _connect(self) -> None:
        import redis.asyncio as aioredis

        client = aioredis.Redis.from_url(self.url, socket_connect_timeout=2)
        self.pubsub = client.pubsub(ignore_subscribe_messages=True)
        # A pub/sub connection needs one subscription before it listens: a channel of its own.
        await self.pubsub.subscribe(KEY_PREFIX + "hub")
        if self.subscribers:
            await self.pubsub.subscribe(*[KEY_PREFIX + t for t in self.subscribers])
        self.reader = asyncio.get_running_loop().create_task(self._read())

    async def subscribe(self, topics: list[str]) -> Subscription:
        subscription = Subscription(self, topics)
        async with self.lock:
            if self.pubsub is None:
                await self._connect()
            new = [topic for topic in topics if topic not in self.subscribers]
            for topic in topics:
                self.subscribers.setdefault(topic, set()).add(subscription)
            if new:
                await self.pubsub.subscribe(*[KEY_PREFIX + topic for topic in new])
        return subscription

    async def unsubscribe(self, subscription: Subscription) -> None:
        async with self.lock:
            gone = []
            for topic in subscription.topics:
                listeners = self.subscribers.get(topic)
                if listeners is None:
                    continue
                listeners.discard(subscription)
                if not listeners:
                    del self.subscribers[topic]
                    gone.append(topic)
            if gone and self.pubsub is not None:
                with contextlib.suppress(Exception):
                    await self.pubsub.unsubscribe(*[KEY_PREFIX + topic for topic in gone])

    async def _read(self) -> None:
        while True:
            try:
                async for message in self.pubsub.listen():
                    if message["type"] != "message":
                        continue
                    self._dispatch(message["channel"].decode(), message["data"].decode())
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.warning("Stream pub/sub connection lost; reconnecting.", exc_info=True)
                self._tell_all_resync()
                await asyncio.sleep(1)
                async with self.lock:
                    with contextlib.suppress(Exception):
                        await self._reconnect()
                return

    async def _reconnect(self) -> None:
        old = self.pubsub
        self.pubsub = None
        with contextlib.suppress(Exception):
            await old.aclose()
        await self._connect()

    def _dispatch(self, channel: str, payload: str) -> None:
        topic = channel[len(KEY_PREFIX) :]
        event_id, event_type, data = payload.split("\n", 2)
        event = Event(event_id, event_type, json.loads(data))
        for subscription in list(self.subscribers.get(topic, ())):
            subscription.push(topic, event)

    def _tell_all_resync(self) -> None:
        for topic, subscriptions in list(self.subscribers.items()):
            for subscription in list(subscriptions):
                subscription.push(topic, None)


_broker: RedisBroker | LocalBroker | None = None
_broker_lock = threading.Lock()


def broker() -> RedisBroker | LocalBroker:
    """This process's broker: Redis when STREAM_REDIS_URL is set, else in-process."""
    global _broker
    if _broker is None:
        with _broker_lock:
            if _broker is None:
                url = settings.STREAM_REDIS_URL
                if url:
                    _broker = RedisBroker(url)
                else:
                    logger.warning(
                        "Live streams run in this process only (no STREAM_REDIS_URL or Redis "
                        "CACHE_URL): events published by other processes are not seen."
                    )
                    _broker = LocalBroker()
    return _broker


def publish(topics: list[str], type: str, data: dict[str, Any]) -> list[str]:
    """Append and push an event; [] when the broker is unreachable (logged)."""
    try:
        return broker().publish(topics, type, data)
    except Exception:
        logger.warning("Could not publish %s to %s.", type, topics, exc_info=True)
        return []
