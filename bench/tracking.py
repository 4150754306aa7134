"""The `tracking` scenario: customers watch their orders' streams while couriers drive.

`run(...)` (called by `bench/scenarios.py` while gunicorn serves the API) loads the
deliveries through the services (one courier each, assigned), starts uvicorn on the
stream paths (`backoffice.asgi`, one process, as docs/delivery.md deploys it) and runs
the load in a separate process (`python -m bench.tracking`): every customer opens the
order's stream (server-sent events) and waits for its snapshot; then each courier posts
a position to gunicorn every few seconds. The load generator matches each position to
the event its customer's stream receives and reports, from the courier's POST to the
customer's event: p50/p95/p99, positions never seen, streams that dropped. uvicorn's
memory is sampled each second; targets: p99 <= 1 s, no stream dropped, memory flat.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.common import OUT, ROOT, ZONE_LATITUDE, free_port, log

BASE_LATITUDE = ZONE_LATITUDE
STEP = 1e-5  # a position's latitude carries its sequence number
P99_TARGET_MS = 1000
MEMORY_GROWTH_LIMIT_MB = 20


@dataclass(frozen=True)
class TrackingPlan:
    streams: int = 500
    duration: float = 60
    interval: float = 5.0  # seconds between two positions of one courier


FULL_PLAN = TrackingPlan()
QUICK_PLAN = TrackingPlan(streams=200, duration=20)


# --- Data, server and run (in the bench process) ------------------------------------------
def load_deliveries(*, count: int, warehouse_code: str, channel_code: str) -> list[dict]:
    """`count` paid on-demand orders, each assigned to a courier of its own."""
    from django.utils import timezone

    from catalog.models import Channel
    from catalog.services import ListingInput, ProductInput, VariantInput, product_create
    from channels_api.services import api_key_create
    from delivery.couriers import courier_create
    from delivery.dispatch import delivery_assign
    from delivery.models import Delivery
    from inventory.models import StockMovement, Warehouse
    from inventory.services import stock_adjust
    from orders.services import CheckoutInput, checkout_direct
    from orders.services.validation import LineRequest

    channel = Channel.objects.get(code=channel_code)
    store = Warehouse.objects.get(code=warehouse_code)
    # The zone around the store and the `now` method are the seed's (bench/seed.py).
    product = product_create(
        data=ProductInput(
            fields={"slug": "bench-tracked", "name": "Tracked"},
            category=None,
            category_given=False,
            variants=[VariantInput(sku="TRACK-1", price="9.00")],
            listings=[ListingInput(channel=channel.code)],
        )
    )
    variant = product.variants.get()
    stock_adjust(
        variant=variant, warehouse=store, delta=count * 2, reason=StockMovement.Reason.RECEIPT
    )
    customer_key = api_key_create(kind="publishable", channel=channel, name="bench tracking")[1]
    address = {"name": "Bench", "line1": "1 Track Rd", "city": "Springfield",
               "postal_code": "62701", "country": "US", "latitude": BASE_LATITUDE + 0.05,
               "longitude": -89.65}  # fmt: skip
    deliveries = []
    for number in range(count):
        order = checkout_direct(
            channel=channel,
            data=CheckoutInput(
                lines=[LineRequest("TRACK-1", 1)],
                shipping_address=address,
                shipping_method="now",
                payment={"provider": "test", "token": "tok_approve"},
            ),
        ).order
        courier, token = courier_create(name=f"Courier {number}", warehouses=[store])
        delivery = Delivery.objects.get(order=order)
        delivery_assign(delivery=delivery, courier=courier, actor="bench")
        deliveries.append({"id": delivery.pk, "token": str(order.token), "courier": token})
    log(f"tracking: {count} deliveries assigned ({timezone.now():%H:%M:%S})")
    return [{**d, "key": customer_key} for d in deliveries]


def _rss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def start_uvicorn(port: int, env: dict[str, str], log_path: Path) -> subprocess.Popen:
    with log_path.open("ab") as output:
        process = subprocess.Popen(  # noqa: S603 - our own app
            [
                sys.executable,
                "-m",
                "uvicorn",
                "backoffice.asgi:application",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--log-level",
                "warning",
                "--no-access-log",
                "--backlog",
                "2048",
            ],
            cwd=ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    import urllib.request

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2):
                return process
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError(f"uvicorn did not start; see {log_path}")


def run(*, api_url: str, plan: TrackingPlan, warehouse: str, channel: str) -> dict[str, Any]:
    """Load, serve, drive, measure; returns the scenario's result (with `failures`)."""
    deliveries = load_deliveries(count=plan.streams, warehouse_code=warehouse, channel_code=channel)
    from django.db import connections

    connections.close_all()
    port = free_port()
    server = start_uvicorn(port, dict(os.environ), OUT / "uvicorn.log")
    samples: list[tuple[float, int]] = []
    stop = threading.Event()

    def sample() -> None:
        started = time.monotonic()
        while not stop.is_set():
            samples.append((time.monotonic() - started, _rss_kb(server.pid)))
            stop.wait(1.0)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    config = OUT / "tracking-config.json"
    out = OUT / "tracking.json"
    config.write_text(
        json.dumps(
            {"api": api_url, "streams": f"http://127.0.0.1:{port}", "deliveries": deliveries}
        )
    )
    try:
        load = subprocess.run(  # noqa: S603 - our own module
            [
                sys.executable,
                "-m",
                "bench.tracking",
                "--config",
                str(config),
                "--out",
                str(out),
                "--duration",
                str(plan.duration),
                "--interval",
                str(plan.interval),
            ],
            cwd=ROOT,
            timeout=plan.duration + 180,
            check=False,
        )
        if load.returncode != 0:
            raise RuntimeError(f"the tracking load generator exited {load.returncode}")
        result = json.loads(out.read_text())
    finally:
        stop.set()
        sampler.join(5)
        try:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(10)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            server.kill()
    result["memory"] = _memory(samples, result.get("load_started_s", 0))
    result["failures"] = _failures(result)
    return result


def _memory(samples: list[tuple[float, int]], load_started: float) -> dict[str, Any]:
    """uvicorn's RSS: when the streams were all open, at the end, and the peak."""
    if not samples:
        return {}
    during = [kb for at, kb in samples if at >= load_started] or [kb for _, kb in samples]
    first, last = during[min(len(during) - 1, 5)], during[-1]  # after the streams opened
    return {
        "open_mb": round(first / 1024, 1),
        "end_mb": round(last / 1024, 1),
        "peak_mb": round(max(kb for _, kb in samples) / 1024, 1),
        "growth_mb": round((last - first) / 1024, 1),
        "timeline": [[round(at, 1), kb] for at, kb in samples],
    }


def _failures(result: dict[str, Any]) -> list[str]:
    failures = []
    if result["latency_ms"].get("p99", 1e9) > P99_TARGET_MS:
        failures.append(f"tracking p99 {result['latency_ms'].get('p99')} ms > {P99_TARGET_MS}")
    if result["streams_dropped"]:
        failures.append(f"{result['streams_dropped']} streams dropped")
    if result["post_errors"]:
        kinds = result["post_errors_by_kind"]
        failures.append(f"{result['post_errors']} positions not taken: {kinds}")
    if result["positions_missing"]:
        failures.append(f"{result['positions_missing']} positions never reached their stream")
    if result.get("memory", {}).get("growth_mb", 0) > MEMORY_GROWTH_LIMIT_MB:
        failures.append(f"stream server memory grew {result['memory']['growth_mb']} MB")
    return failures


def markdown(result: dict[str, Any]) -> str:
    latency, memory = result["latency_ms"], result.get("memory", {})
    return "\n".join(
        [
            "",
            "### Tracking (server-sent events)",
            "",
            "| streams | positions posted | per s | POST p99 | POST → stream p50 / p95 / p99 "
            "| missing | dropped | stream server RSS (open → end, peak) |",
            "|---|---|---|---|---|---|---|---|",
            f"| {result['streams_open']} | {result['positions_posted']} "
            f"| {result['positions_per_s']} | {result['post_latency_ms'].get('p99')} ms "
            f"| {latency.get('p50')} / {latency.get('p95')} / {latency.get('p99')} ms "
            f"| {result['positions_missing']} | {result['streams_dropped']} "
            f"| {memory.get('open_mb')} → {memory.get('end_mb')} MB, {memory.get('peak_mb')} MB |",
            "",
        ]
    )


# --- The load generator (its own process) --------------------------------------------------
def _percentiles(values: list[float]) -> dict[str, float]:
    if not values:
        return {}
    ordered = sorted(values)

    def at(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000, 1)

    return {"p50": at(0.50), "p95": at(0.95), "p99": at(0.99), "max": round(ordered[-1] * 1000, 1),
            "mean": round(statistics.fmean(ordered) * 1000, 1)}  # fmt: skip


def _problem_code(body: bytes) -> str:
    try:
        return str(json.loads(body).get("code", ""))
    except (ValueError, AttributeError):
        return ""


async def _drive(config: dict, duration: float, interval: float) -> dict[str, Any]:
    import aiohttp

    deliveries = config["deliveries"]
    sent: dict[tuple[int, int], float] = {}
    latencies: list[float] = []
    post_latencies: list[float] = []
    opened = asyncio.Event()
    open_count = 0
    dropped = 0
    posted = errors = 0
    error_kinds: dict[str, int] = {}  # what the failed POSTs got: status and code, or why
    done = asyncio.Event()
    timeout = aiohttp.ClientTimeout(total=None, sock_read=None)
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(timeout=timeout, connector=connector) as session:

        async def watch(index: int, delivery: dict) -> None:
            nonlocal open_count, dropped
            url = f"{config['streams']}/api/v1/store/orders/{delivery['token']}/stream"
            headers = {"Authorization": f"Bearer {delivery['key']}", "Accept": "text/event-stream"}
            try:
                async with session.get(url, headers=headers) as response:
                    assert response.status == 200, response.status
                    event_type = ""
                    async for raw in response.content:
                        line = raw.decode().rstrip("\n")
                        if line.startswith("event: "):
                            event_type = line[7:]
                        elif line.startswith("data: "):
                            if event_type == "snapshot":
                                open_count += 1
                                if open_count == len(deliveries):
                                    opened.set()
                            elif event_type == "location":
                                latitude = json.loads(line[6:])["latitude"]
                                sequence = round((latitude - BASE_LATITUDE) / STEP)
                                at = sent.pop((index, sequence), None)
                                if at is not None:
                                    latencies.append(time.perf_counter() - at)
                        if done.is_set():
                            return
            except (aiohttp.ClientError, AssertionError, TimeoutError):
                pass
            if not done.is_set():
                dropped += 1

        async def drive(index: int, delivery: dict, deadline: float) -> None:
            nonlocal posted, errors
            url = f"{config['api']}/api/v1/fulfiller/deliveries/{delivery['id']}/location"
            headers = {"Authorization": f"Bearer {delivery['courier']}"}
            await asyncio.sleep(random.uniform(0, interval))
            sequence = 0
            while time.perf_counter() < deadline:
                sequence += 1
                position = {
                    "latitude": round(BASE_LATITUDE + sequence * STEP, 6),
                    "longitude": -89.65,
                }
                sent[(index, sequence)] = start = time.perf_counter()
                try:
                    async with session.post(url, json=position, headers=headers) as response:
                        body = await response.read()
                        post_latencies.append(time.perf_counter() - start)
                        if response.status == 202:
                            posted += 1
                            failure = ""
                        else:
                            failure = f"{response.status} {_problem_code(body)}".strip()
                except aiohttp.ClientError as error:
                    failure = type(error).__name__
                if failure:
                    errors += 1
                    error_kinds[failure] = error_kinds.get(failure, 0) + 1
                    sent.pop((index, sequence), None)
                await asyncio.sleep(interval)

        watchers = [asyncio.create_task(watch(i, d)) for i, d in enumerate(deliveries)]
        began = time.perf_counter()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(opened.wait(), timeout=60)
        opened_after = time.perf_counter() - began
        load_started = time.perf_counter()
        deadline = load_started + duration
        await asyncio.gather(*(drive(i, d, deadline) for i, d in enumerate(deliveries)))
        await asyncio.sleep(2)  # the last positions' events are on their way
        still_open = sum(1 for task in watchers if not task.done())
        done.set()
        for task in watchers:
            task.cancel()
        await asyncio.gather(*watchers, return_exceptions=True)
        elapsed = time.perf_counter() - load_started
    return {
        "streams": len(deliveries),
        "streams_open": open_count,
        "streams_opened_in_s": round(opened_after, 1),
        "streams_still_open": still_open,
        "streams_dropped": dropped,
        "positions_posted": posted,
        "positions_per_s": round(posted / elapsed, 1),
        "post_errors": errors,
        "post_errors_by_kind": error_kinds,
        "positions_missing": len(sent),
        "latency_ms": _percentiles(latencies),
        "post_latency_ms": _percentiles(post_latencies),
        "load_started_s": round(opened_after, 1),
        "elapsed_s": round(elapsed, 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="the tracking load generator")
    parser.add_argument("--config", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--duration", type=float, default=60)
    parser.add_argument("--interval", type=float, default=5.0)
    args = parser.parse_args(argv)
    config = json.loads(Path(args.config).read_text())
    result = asyncio.run(_drive(config, args.duration, args.interval))
    Path(args.out).write_text(json.dumps(result))
    log(
        f"tracking: {result['streams_open']} streams, {result['positions_posted']} positions, "
        f"p99 {result['latency_ms'].get('p99')} ms, {result['positions_missing']} missing, "
        f"{result['streams_dropped']} dropped"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
