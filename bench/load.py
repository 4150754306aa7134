"""The load generator: one process, N concurrent asyncio clients (aiohttp), one scenario.

Run by `bench/run.py` as a separate process so that its CPU is not the server's:

    python -m bench.load --scenario checkout --config var/bench/seed.json \
        --concurrency 32 --duration 60 --out var/bench/checkout.json

Each client loops until the time is up or `--max-ops` operations have started, so
every run stops by itself. It records each request's latency by kind, every
response by status and problem `code`, and prints a progress line every few seconds.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import sys
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

API = "/api/v1"
PAYMENT = {"provider": "test", "token": "tok_approve"}
ADDRESS = {
    "name": "Bench Shopper",
    "line1": "1 Load Street",
    "city": "Springfield",
    "postal_code": "12345",
    "country": "US",
}
# A customer of the on-demand zone (bench/seed.py): 3 km from its store.
NEARBY = {**ADDRESS, "postal_code": "62701", "latitude": 39.727, "longitude": -89.65}
# Answers that are the expected outcome of an operation, not errors.
EXPECTED = {
    "flash-sale": {(201, ""), (409, "insufficient_stock")},
    # A returning viewer's If-None-Match is answered 304 while its copy is current.
    "browse": {(200, ""), (304, "")},
    "browse-during-sale": {(200, ""), (304, ""), (201, "")},
}
DEFAULT_EXPECTED = {(200, ""), (201, "")}


class OperationFailed(Exception):
    """A step of a multi-request operation did not succeed: the rest is skipped."""


@dataclass
class Recorder:
    """Latencies by kind, answers by status and code, and the timing of orders."""

    scenario: str
    started: float = field(default_factory=time.perf_counter)
    latencies: dict[str, list[float]] = field(default_factory=dict)
    answers: Counter = field(default_factory=Counter)
    errors: Counter = field(default_factory=Counter)
    ops_started: int = 0
    ops_done: int = 0
    ops_failed: int = 0
    requests: int = 0
    orders: int = 0
    first_order_at: float | None = None
    last_order_at: float | None = None

    def record(self, kind: str, seconds: float, status: int, code: str) -> None:
        self.requests += 1
        self.latencies.setdefault(kind, []).append(seconds)
        label = f"{status} {code}".strip()
        self.answers[label] += 1
        if (status, code) not in EXPECTED.get(self.scenario, DEFAULT_EXPECTED):
            self.errors[label] += 1

    def order_placed(self) -> None:
        now = time.perf_counter() - self.started
        self.orders += 1
        self.first_order_at = now if self.first_order_at is None else self.first_order_at
        self.last_order_at = now


@dataclass
class Context:
    """What every client shares: the HTTP session, the data, the recorder and the limits."""

    session: aiohttp.ClientSession
    base_url: str
    data: dict[str, Any]
    recorder: Recorder
    deadline: float
    max_ops: int
    etags: dict[int, dict[tuple[str, str], str]] = field(default_factory=dict)

    def claim(self) -> int | None:
        """The next operation's number, or None when the time or the count is used up."""
        recorder = self.recorder
        if recorder.ops_started >= self.max_ops or time.perf_counter() >= self.deadline:
            return None
        recorder.ops_started += 1
        return recorder.ops_started - 1

    async def call(
        self,
        kind: str,
        method: str,
        path: str,
        *,
        key: str | None = None,
        body: Any = None,
        idempotent: bool = False,
        etag: str | None = None,
        etags: dict[str, str] | None = None,
    ) -> tuple[int, Any]:
        """One request. `etag`: sent as If-None-Match; `etags`: where the answer's ETag
        is kept, by path (a viewer's copy)."""
        headers = {"Accept": "application/json"}
        if key:
            headers["Authorization"] = f"Bearer {key}"
        if idempotent:
            headers["Idempotency-Key"] = str(uuid.uuid4())
        if etag:
            headers["If-None-Match"] = etag
        start = time.perf_counter()
        try:
            async with self.session.request(
                method, self.base_url + path, json=body, headers=headers
            ) as response:
                raw = await response.read()
                status = response.status
                if etags is not None and response.headers.get("ETag"):
                    etags[path] = response.headers["ETag"]
        except (aiohttp.ClientError, TimeoutError) as error:
            self.recorder.record(kind, time.perf_counter() - start, 0, type(error).__name__)
            raise OperationFailed(kind) from error
        elapsed = time.perf_counter() - start
        payload = json.loads(raw) if raw else None
        code = payload.get("code", "") if status >= 400 and isinstance(payload, dict) else ""
        self.recorder.record(kind, elapsed, status, code)
        return status, payload


def _key(context: Context, rng: random.Random) -> str:
    return rng.choice(list(context.data["keys"].values()))


async def op_readyz(context: Context, rng: random.Random, number: int) -> None:
    status, _ = await context.call("readyz", "GET", "/readyz")
    if status != 200:
        raise OperationFailed("readyz")


async def op_baseline(context: Context, rng: random.Random, number: int) -> None:
    """The bench's minimal DRF POST (`bench/baseline.py`): a serializer and one INSERT."""
    body = {"name": f"note {number}", "quantity": rng.randrange(1, 100)}
    status, _ = await context.call("baseline", "POST", "/bench/baseline", body=body)
    if status != 201:
        raise OperationFailed("baseline")


async def op_browse_cold(context: Context, rng: random.Random, number: int) -> None:
    """Half product list pages (20 a page, anywhere in the catalog), half product pages:
    about 1,500 distinct pages at random, so most reads are a cache's first (`browse-cold`)."""
    key = _key(context, rng)
    if rng.random() < 0.5:
        offset = rng.randrange(0, max(1, len(context.data["slugs"]) - 20))
        path = f"{API}/store/products?limit=20&offset={offset}"
        status, _ = await context.call("list", "GET", path, key=key)
    else:
        slug = rng.choice(context.data["slugs"])
        status, _ = await context.call("detail", "GET", f"{API}/store/products/{slug}", key=key)
    if status != 200:
        raise OperationFailed("browse")


@dataclass(frozen=True)
class ViralMix:
    """The views a viral post sends (`browse`): most on the posted products and the first
    list page, seen from the post's channel, a share of them by returning viewers who
    revalidate their copy (`If-None-Match`), and a long tail of cold pages anywhere."""

    hot_products: int = 3  # the posted products: the catalog's first slugs
    hot_share: float = 0.50  # views of one of the posted products' pages
    first_page_share: float = 0.25  # views of the first list page
    # The rest (0.25) is the long tail: half a list page anywhere, half any product page.
    revalidate_share: float = 0.40  # hot views that send the ETag they got before
    channel: str = "instagram"  # the post's channel
    channel_share: float = 0.80  # the rest come through the other channels' keys


VIRAL = ViralMix()
FIRST_PAGE = f"{API}/store/products?limit=20"


def viral_request(
    data: dict[str, Any], rng: random.Random, etags: dict[tuple[str, str], str], mix: ViralMix
) -> tuple[str, str, str, str | None]:
    """The next view: (kind, path, key, If-None-Match or None). `etags` are the ETags this
    viewer holds, by (key, path); only hot views revalidate, cold ones are first reads."""
    keys = data["keys"]
    if mix.channel in keys and rng.random() < mix.channel_share:
        key = keys[mix.channel]
    else:
        key = rng.choice(list(keys.values()))
    slugs = data["slugs"]
    draw = rng.random()
    if draw < mix.hot_share:
        kind, path = "hot_detail", f"{API}/store/products/{rng.choice(slugs[: mix.hot_products])}"
    elif draw < mix.hot_share + mix.first_page_share:
        kind, path = "first_page", FIRST_PAGE
    elif rng.random() < 0.5:
        offset = rng.randrange(20, max(21, len(slugs) - 20))
        return "tail_list", f"{API}/store/products?limit=20&offset={offset}", key, None
    else:
        return "tail_detail", f"{API}/store/products/{rng.choice(slugs)}", key, None
    etag = etags.get((key, path)) if rng.random() < mix.revalidate_share else None
    return (f"{kind}_304" if etag else kind), path, key, etag


async def op_browse(context: Context, rng: random.Random, number: int) -> None:
    """One view of the viral mix (`ViralMix`); a revalidation is answered 200 or 304."""
    etags = context.etags.setdefault(id(rng), {})  # one viewer per client
    kind, path, key, etag = viral_request(context.data, rng, etags, VIRAL)
    held: dict[str, str] = {}
    status, _ = await context.call(kind, "GET", path, key=key, etag=etag, etags=held)
    if path in held:
        etags[(key, path)] = held[path]
    if status not in (200, 304) or (status == 304 and not etag):
        raise OperationFailed("browse")


# One operation in this many of `browse-during-sale` is a checkout.
SALE_EVERY = 8


async def op_browse_during_sale(context: Context, rng: random.Random, number: int) -> None:
    """The viral mix's views (`op_browse`) while the shop sells: one operation in
    `SALE_EVERY` is a one-shot checkout of one unit of a SKU of the catalog at random
    (request kind `sale_checkout`), which changes that product's stock as it commits."""
    if number % SALE_EVERY:
        await op_browse(context, rng, number)
        return
    body = _checkout_body(rng.choice(context.data["skus"]))
    status, _ = await context.call(
        "sale_checkout", "POST", f"{API}/store/checkout", key=_key(context, rng), body=body,
        idempotent=True,
    )  # fmt: skip
    if status != 201:
        raise OperationFailed("checkout")
    context.recorder.order_placed()


async def op_cart(context: Context, rng: random.Random, number: int) -> None:
    """Create a cart with a line, add a line, set contact and address, complete it."""
    key = _key(context, rng)
    skus = context.data["skus"]
    first, second = rng.sample(skus, 2)
    status, cart = await context.call(
        "create",
        "POST",
        f"{API}/store/carts",
        key=key,
        body={"lines": [{"sku": first, "quantity": 1}], "email": "bench@example.com"},
        idempotent=True,
    )
    if status != 201:
        raise OperationFailed("create")
    path = f"{API}/store/carts/{cart['id']}"
    steps: list[tuple[str, str, str, Any, bool, int]] = [
        ("add_line", "POST", f"{path}/lines", {"sku": second, "quantity": 1}, True, 201),
        (
            "update",
            "PATCH",
            path,
            {"phone": "+1 555 0100", "shipping_address": ADDRESS, "shipping_method": "standard"},
            False,
            200,
        ),
        ("complete", "POST", f"{path}/complete", {"payment": PAYMENT}, True, 201),
    ]
    for kind, method, step_path, body, idempotent, expected in steps:
        status, _ = await context.call(
            kind, method, step_path, key=key, body=body, idempotent=idempotent
        )
        if status != expected:
            raise OperationFailed(kind)
    context.recorder.order_placed()


def _checkout_body(sku: str) -> dict[str, Any]:
    return {
        "lines": [{"sku": sku, "quantity": 1}],
        "email": "bench@example.com",
        "shipping_address": ADDRESS,
        "shipping_method": "standard",
        "payment": PAYMENT,
    }


async def op_checkout(context: Context, rng: random.Random, number: int) -> None:
    """One-shot checkout of one unit of any of the catalog's SKUs."""
    body = _checkout_body(rng.choice(context.data["skus"]))
    key = _key(context, rng)
    status, _ = await context.call(
        "checkout", "POST", f"{API}/store/checkout", key=key, body=body, idempotent=True
    )
    if status != 201:
        raise OperationFailed("checkout")
    context.recorder.order_placed()


async def op_checkout_delivery(context: Context, rng: random.Random, number: int) -> None:
    """One-shot checkout delivered on demand: the zone, its minimum and hours are checked;
    every other one books a slot of tomorrow (the slot's counter is the contended row)."""
    body = {
        **_checkout_body(rng.choice(context.data["skus"])),
        "shipping_address": NEARBY,
        "shipping_method": "now",
    }
    if number % 2:
        body["delivery_slot"] = rng.choice(context.data["delivery_slots"])
    key = _key(context, rng)
    status, _ = await context.call(
        "checkout", "POST", f"{API}/store/checkout", key=key, body=body, idempotent=True
    )
    if status != 201:
        raise OperationFailed("checkout")
    context.recorder.order_placed()


async def op_flash_sale(context: Context, rng: random.Random, number: int) -> None:
    """One-shot checkout of the hot SKU; the channels take turns."""
    keys = list(context.data["keys"].values())
    body = _checkout_body(context.data["flash_sku"])
    key = keys[number % len(keys)]
    status, _ = await context.call(
        "checkout", "POST", f"{API}/store/checkout", key=key, body=body, idempotent=True
    )
    if status == 201:
        context.recorder.order_placed()
    elif status != 409:
        raise OperationFailed("checkout")


OPERATIONS: dict[str, Callable[[Context, random.Random, int], Awaitable[None]]] = {
    "readyz": op_readyz,
    "baseline": op_baseline,
    "browse": op_browse,
    "browse-cold": op_browse_cold,
    "browse-during-sale": op_browse_during_sale,
    "cart": op_cart,
    "checkout": op_checkout,
    "checkout-delivery": op_checkout_delivery,
    "flash-sale": op_flash_sale,
}


async def client(context: Context, operation: Callable, rng: random.Random) -> None:
    while (number := context.claim()) is not None:
        start = time.perf_counter()
        try:
            await operation(context, rng, number)
        except OperationFailed:
            context.recorder.ops_failed += 1
        else:
            context.recorder.latencies.setdefault("operation", []).append(
                time.perf_counter() - start
            )
        context.recorder.ops_done += 1


async def progress(recorder: Recorder, every: float, stop: asyncio.Event) -> None:
    last_ops, last_time = 0, recorder.started
    while not stop.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=every)
        now = time.perf_counter()
        rate = (recorder.ops_done - last_ops) / max(now - last_time, 1e-9)
        last_ops, last_time = recorder.ops_done, now
        print(
            f"    {recorder.scenario:<10} {now - recorder.started:6.1f}s "
            f"{recorder.ops_done:>7} ops {rate:8.1f}/s  {recorder.orders:>6} orders  "
            f"{sum(recorder.errors.values()):>4} errors",
            file=sys.stderr,
            flush=True,
        )


def percentiles(values: list[float]) -> dict[str, float]:
    """p50/p95/p99/max and mean in milliseconds (nearest rank)."""
    if not values:
        return {"count": 0}
    ordered = sorted(values)

    def rank(fraction: float) -> float:
        index = max(0, min(len(ordered) - 1, round(fraction * len(ordered) + 0.5) - 1))
        return round(ordered[index] * 1000, 2)

    return {
        "count": len(ordered),
        "p50": rank(0.50),
        "p95": rank(0.95),
        "p99": rank(0.99),
        "max": round(ordered[-1] * 1000, 2),
        "mean": round(sum(ordered) / len(ordered) * 1000, 2),
    }


async def run(args: argparse.Namespace) -> dict[str, Any]:
    data = json.loads(Path(args.config).read_text())
    recorder = Recorder(scenario=args.scenario)
    connector = aiohttp.TCPConnector(limit=args.concurrency, ttl_dns_cache=None)
    timeout = aiohttp.ClientTimeout(total=args.request_timeout)
    stop = asyncio.Event()
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        recorder.started = time.perf_counter()
        context = Context(
            session=session,
            base_url=data["base_url"],
            data=data,
            recorder=recorder,
            deadline=recorder.started + args.duration,
            max_ops=args.max_ops,
        )
        operation = OPERATIONS[args.scenario]
        ticker = asyncio.create_task(progress(recorder, args.progress_every, stop))
        await asyncio.gather(
            *(
                client(context, operation, random.Random(args.seed * 1000 + index))
                for index in range(args.concurrency)
            )
        )
        elapsed = time.perf_counter() - recorder.started
        stop.set()
        await ticker
    return summary(recorder, args, elapsed)


def summary(recorder: Recorder, args: argparse.Namespace, elapsed: float) -> dict[str, Any]:
    selling = recorder.last_order_at if recorder.orders else None
    return {
        "scenario": args.scenario,
        "concurrency": args.concurrency,
        "elapsed_s": round(elapsed, 3),
        # The generator's own CPU: it must stay small beside the server's on the same cores.
        "client_cpu_s": round(time.process_time(), 2),
        "operations": recorder.ops_done,
        "operations_failed": recorder.ops_failed,
        "requests": recorder.requests,
        "orders": recorder.orders,
        "operations_per_s": round(recorder.ops_done / elapsed, 2),
        "requests_per_s": round(recorder.requests / elapsed, 2),
        "orders_per_s": round(recorder.orders / elapsed, 2),
        # Until the last order: for a sale that sells out, the rate while there was stock.
        "orders_per_s_until_last": round(recorder.orders / selling, 2) if selling else None,
        "latency_ms": {kind: percentiles(values) for kind, values in recorder.latencies.items()},
        "answers": dict(recorder.answers.most_common()),
        "errors": dict(recorder.errors.most_common()),
    }


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", choices=sorted(OPERATIONS), required=True)
    parser.add_argument("--config", required=True, help="JSON: base_url, keys, skus, slugs")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--duration", type=float, default=30.0, help="seconds, at most")
    parser.add_argument("--max-ops", type=int, default=10_000_000, help="operations, at most")
    parser.add_argument("--request-timeout", type=float, default=30.0)
    parser.add_argument("--progress-every", type=float, default=5.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", required=True)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    result = asyncio.run(run(args))
    Path(args.out).write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
