"""A task message published on a broker connection kept per thread: what `send_now` sends.

`app.send_task` did more than a checkout needs on every call: about 12 % of a paid
checkout's CPU in the web process (docs/performance.md, "Round nine"). It looks up the
task's options and its route in the app's settings (each a walk of several mappings),
takes a producer from the pool and gives it back, checks that the queue is declared,
and builds the message. `task_message_publish` sends the same message for less:

- the route, the options and the settings it reads are worked out once per task name,
  with Celery's own router and the task's own options (`_Plan`);
- the message is built by Celery's own protocol-2 builder (`app.amqp.as_task_v2`), so its
  headers, properties and body are the ones `send_task` gives (`tests/test_task_messages.py`
  compares the two as they lie in Redis, and a real worker runs it, across a broker restart);
- it is published by a kombu `Producer` on a connection this thread keeps (built like the
  pool's, `app.connection_for_write()`), which declares the queue once, as kombu's own
  cache of declared entities does for a pooled connection.

Delivery is what it was: the message is sent after the commit (`enqueue_after_commit`),
acknowledged late by the worker, and a failed publish raises, so that `send_now` logs it
and pauses sends for a while (the periodic sweeps catch up). The kept connection is
dropped on any failure and built again on the next send. It is also dropped when the
app's broker changes (its connection pool is replaced) or in a forked child.

Anything this does not do the way `send_task` does goes to `send_task`: a countdown, a
send from inside a running task (its parent and root ids), task-sent events, the
deprecated `task_sent` signal, a route other than a plain direct queue, or a task option
beyond its time limits, serializer, compression and delivery mode.
"""

from __future__ import annotations

import os
import threading
from contextlib import suppress
from dataclasses import dataclass

from celery import signals
from celery.utils import uuid
from celery.utils.nodenames import anon_nodename
from kombu import Exchange, Producer, Queue

# Route options Celery's router gives for the plain default queue (anything else: send_task).
_ROUTE_KEYS = {"queue", "exchange", "routing_key", "exchange_type"}
# A task's own options (when it is registered in this process) that this path carries
# into the message as send_task does; any other one set: send_task.
_TASK_KEYS = {"time_limit", "soft_time_limit", "serializer", "compression", "delivery_mode"}


@dataclass(frozen=True)
class _Plan:
    """How `send_task` routes and builds one task name's message, worked out once."""

    exchange: str
    routing_key: str
    delivery_mode: int
    queue: Queue
    serializer: str
    compression: str | None
    retry_policy: dict
    time_limit: float | None
    soft_time_limit: float | None


_PLANS: dict[tuple[int, str, bool], _Plan | None] = {}


def _plan(app, name: str) -> _Plan | None:
    """The task's route and options as `send_task` works them out, or None where it would
    do something this path does not (then `send_task` sends it)."""
    task = app._tasks.get(name)  # as send_task looks it up: without finalizing the app
    key = (id(app), name, task is not None)
    if key in _PLANS:
        return _PLANS[key]
    plan = _PLANS[key] = _plan_work_out(app, name, task)
    return plan


def _plan_work_out(app, name: str, task) -> _Plan | None:
    conf = app.conf
    if conf.task_send_sent_event or conf.task_protocol != 2 or app.amqp.router.routes:
        return None
    options: dict = {}
    if task is not None and hasattr(task, "_get_exec_options"):
        given = {k: v for k, v in task._get_exec_options().items() if v is not None}
        if set(given) - _TASK_KEYS:
            return None
        options = given
    route = app.amqp.router.route({}, name, (), {}, task)
    queue = route.get("queue")
    if set(route) - _ROUTE_KEYS or not isinstance(queue, Queue) or queue.no_declare:
        return None
    exchange = queue.exchange
    if not isinstance(exchange, Exchange) or exchange.type != "direct" or queue.queue_arguments:
        return None
    if route.get("exchange") or route.get("routing_key"):
        return None
    # A direct exchange: sent to the anonymous exchange with the queue's name (send_task's
    # `send_task_message` does the same), so the message goes straight to the queue.
    return _Plan(
        exchange="",
        routing_key=queue.name,
        delivery_mode=(
            options.get("delivery_mode")
            or exchange.delivery_mode
            or conf.task_default_delivery_mode
        ),
        queue=queue,
        serializer=options.get("serializer") or conf.task_serializer,
        compression=options.get("compression") or conf.task_compression,
        retry_policy=dict(conf.task_publish_retry_policy or {}),
        time_limit=options.get("time_limit"),
        soft_time_limit=options.get("soft_time_limit"),
    )


class _Kept(threading.local):
    """This thread's producer, on a connection of its own, and for which pool and process."""

    pool: object = None
    pid: int = 0
    connection = None
    producer: Producer | None = None
    declared: frozenset = frozenset()


_kept = _Kept()


def _producer(app) -> Producer:
    pool = app.pool  # replaced when the app's broker changes
    if _kept.producer is None or _kept.pool is not pool or _kept.pid != os.getpid():
        if _kept.pid == os.getpid():
            _drop()
        connection = app.connection_for_write()
        _kept.connection, _kept.producer = connection, Producer(connection, auto_declare=False)
        _kept.pool, _kept.pid, _kept.declared = pool, os.getpid(), frozenset()
    return _kept.producer


def _drop() -> None:
    connection = _kept.connection
    _kept.connection = _kept.producer = _kept.pool = None
    if connection is not None:
        with suppress(Exception):  # a connection already broken: nothing to close
            connection.release()


def task_message_publish(app, name: str, args: tuple) -> bool:
    """Publish `name(*args)` as `send_task(name, args=args, retry=False)` would; False when
    this path does not apply (the caller then uses `send_task`). Raises what the broker
    raised (the kept connection is dropped first)."""
    if signals.task_sent.receivers or app.current_worker_task is not None:
        return False
    plan = _plan(app, name)
    if plan is None:
        return False
    producer = _producer(app)
    task_id = uuid()
    argsrepr = repr(args) if all(type(arg) is int for arg in args) else None
    headers, properties, body, _ = app.amqp.as_task_v2(
        task_id,
        name,
        args,
        {},
        reply_to=app.thread_oid,
        time_limit=plan.time_limit,
        soft_time_limit=plan.soft_time_limit,
        ignore_result=None,  # send_task's for a call without the option
        argsrepr=argsrepr,
        kwargsrepr="{}",
        origin=anon_nodename(),
    )
    declare = [] if plan.queue.name in _kept.declared else [plan.queue]
    signals.before_task_publish.send(
        sender=name,
        body=body,
        exchange=plan.exchange,
        routing_key=plan.routing_key,
        declare=declare,
        headers=headers,
        properties=properties,
        retry_policy=dict(plan.retry_policy),
    )
    try:
        with producer.connection._reraise_as_library_errors():
            producer.publish(
                body,
                exchange=plan.exchange,
                routing_key=plan.routing_key,
                serializer=plan.serializer,
                compression=plan.compression,
                retry=False,
                delivery_mode=plan.delivery_mode,
                declare=declare,
                headers=headers,
                **properties,
            )
    except BaseException:
        _drop()
        raise
    if declare:
        _kept.declared |= {plan.queue.name}
    signals.after_task_publish.send(
        sender=name,
        body=body,
        headers=headers,
        exchange=plan.exchange,
        routing_key=plan.routing_key,
    )
    return True
