"""Task messages on a producer kept per thread (backoffice/task_messages.py): the message is
the one Celery's `send_task` puts in the broker, a real worker runs it, and a broker
restart or a broker that is down costs no message once the broker is back."""

from __future__ import annotations

import base64
import json
import os
import threading

import pytest
import redis

import fulfillment.tasks  # noqa: F401 - its tasks registered in this process
from backoffice import task_names
from backoffice.celery import app
from backoffice.jobs import BrokerBreaker, send_now
from backoffice.task_messages import _kept, task_message_publish
from fulfillment.models import Fulfillment
from tests.fulfillment.test_worker import WORKER_ENV, checkout, web_shop
from tests.outbox.conftest import app_broker, queued_tasks, wait_until

# Each message's own: its id (and what repeats it), and the broker's delivery tag.
OWN = {"id", "root_id", "correlation_id", "delivery_tag"}


def _raw_messages(url: str) -> list[dict]:
    client = redis.Redis.from_url(url)
    return [json.loads(raw) for raw in reversed(client.lrange("celery", 0, -1))]


def _without_ids(message: dict) -> dict:
    return {
        "body": json.loads(base64.b64decode(message["body"])),
        **{key: message[key] for key in ("content-encoding", "content-type")},
        "headers": {k: v for k, v in message["headers"].items() if k not in OWN},
        "properties": {k: v for k, v in message["properties"].items() if k not in OWN},
    }


@pytest.fixture
def broker_db() -> str:
    url = f"redis://127.0.0.1:{os.environ['TEST_REDIS_PORT']}/9"
    redis.Redis.from_url(url).flushdb()
    yield url
    redis.Redis.from_url(url).flushdb()


@pytest.mark.parametrize(
    "name",
    [task_names.ORDER_PLACED, "tests.task_messages.unregistered"],
    ids=["a task of this process", "a task only workers know"],
)
def test_the_kept_producer_sends_the_message_that_send_task_sends(broker_db, name):
    with app_broker(broker_db):
        app.send_task(name, args=(41,), retry=False)
        assert task_message_publish(app, name, (41,)) is True
        assert send_now(name, 42)

    celery, kept, sent = _raw_messages(broker_db)
    assert _without_ids(kept) == _without_ids(celery)
    assert _without_ids(kept)["body"] == [[41], {}, _without_ids(celery)["body"][2]]
    assert _without_ids(sent)["body"][0] == [42]
    assert celery["headers"]["task"] == kept["headers"]["task"] == name
    for message in (kept, sent):
        headers, properties = message["headers"], message["properties"]
        assert headers["id"] == headers["root_id"] == properties["correlation_id"]
        assert headers["id"] != celery["headers"]["id"]
    assert len({message["properties"]["delivery_tag"] for message in (celery, kept, sent)}) == 3


def test_each_thread_keeps_one_producer_and_another_broker_gets_another(broker_db):
    other = broker_db[:-1] + "10"
    redis.Redis.from_url(other).flushdb()
    with app_broker(broker_db):
        assert send_now("tests.task_messages.first", 1)
        producer = _kept.producer
        assert send_now("tests.task_messages.first", 2)
        assert _kept.producer is producer
        in_thread = []
        thread = threading.Thread(
            target=lambda: in_thread.append(
                (send_now("tests.task_messages.first", 3), _kept.producer)
            )
        )
        thread.start()
        thread.join()
        assert in_thread[0][0] is True
        assert in_thread[0][1] is not None and in_thread[0][1] is not producer
    with app_broker(other):
        assert send_now("tests.task_messages.second", 4)
        assert _kept.producer is not producer

    assert queued_tasks(broker_db) == [("tests.task_messages.first", [n]) for n in (1, 2, 3)]
    assert queued_tasks(other) == [("tests.task_messages.second", [4])]
    redis.Redis.from_url(other).flushdb()


def test_a_countdown_is_sent_by_send_task_with_its_eta(broker_db):
    with app_broker(broker_db):
        assert send_now("tests.task_messages.later", 5, countdown=30)

    (message,) = _raw_messages(broker_db)
    assert message["headers"]["eta"] is not None
    assert json.loads(base64.b64decode(message["body"]))[0] == [5]


@pytest.mark.django_db(transaction=True)
def test_a_worker_runs_the_orders_messages_across_a_broker_restart(private_redis, start_celery):
    with app_broker(private_redis.url):
        start_celery("worker", private_redis.url, **WORKER_ENV)
        api = web_shop()
        first = checkout(api)
        wait_until(lambda: Fulfillment.objects.filter(order=first).exists())
        producer = _kept.producer

        private_redis.stop()
        private_redis.start()  # the same port, empty
        second = checkout(api)  # the kept connection finds its socket closed, and reconnects

        wait_until(lambda: Fulfillment.objects.filter(order=second).exists(), timeout=60)
        assert BrokerBreaker.paused_until == 0.0  # no send failed
        assert _kept.producer is producer


@pytest.mark.django_db(transaction=True)
def test_a_broker_that_was_down_gets_the_next_orders_message_once_it_is_back(
    private_redis, start_celery, settings
):
    settings.BROKER_RETRY_PAUSE_SECONDS = 0  # sends are tried again at once
    with app_broker(private_redis.url):
        api = web_shop()
        checkout(api)  # the kept connection is up
        private_redis.stop()

        lost = checkout(api)  # placed all the same; its message is for the sweep

        assert BrokerBreaker.paused_until > 0.0
        assert _kept.producer is None  # dropped with its broken connection
        private_redis.start()
        start_celery("worker", private_redis.url, **WORKER_ENV)
        after = checkout(api)
        wait_until(lambda: Fulfillment.objects.filter(order=after).exists(), timeout=60)
        assert not Fulfillment.objects.filter(order=lost).exists()
