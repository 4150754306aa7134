"""`make bench-cpu`: CPU per operation, in-process, on the bench data: the profiling loop.

Throughput on a shared 2-core machine moves by a third between runs; the CPU one
request costs in this process moves much less, and it is what the throughput
targets come down to. This runs each operation through Django's test client (the
full middleware, DRF and database stack, no HTTP server), against a throwaway
PostgreSQL and Redis with production settings, and prints milliseconds of CPU and
wall time per operation. `--profile checkout` also writes a pyinstrument profile
of that operation to `var/bench/profile-<operation>.txt` (and `.html`), and
`--cprofile checkout` a cProfile of it on CPU time to
`var/bench/cprofile-<operation>.txt` (and `.pstats`) with its Python function calls per
operation (a count that does not depend on the machine's load).

The process's garbage collector is tuned as the server's is (`backoffice/gc_tuning.py`,
`GC_GEN0_THRESHOLD`) once the data is loaded, so the loop measures what gunicorn runs.

    make bench-cpu
    make bench-cpu BENCH_ARGS="--repeat 500 --profile checkout"
    make bench-cpu BENCH_ARGS="--only checkout --cprofile checkout"
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from typing import Any

from bench.common import OUT, ZONE_LATITUDE, ZONE_LONGITUDE, log
from bench.run import create_database, server_env

API = "/api/v1"


def operations(
    keys: dict[str, str], skus: list[str], slugs: list[str], flash_sku: str, slots: list[str]
) -> dict[str, Callable]:
    """Each operation as a callable that asserts its answer (a wrong answer is no measure)."""
    from django.test import Client

    from bench.load import ADDRESS, NEARBY, PAYMENT

    client = Client(HTTP_AUTHORIZATION=f"Bearer {keys['web']}")
    client.get(f"{API}/store/products?limit=1")  # the key's first use stamps last_used_at

    def expect(response, status: int) -> None:
        if response.status_code != status:
            raise RuntimeError(f"{response.status_code}: {response.content[:300]!r}")

    def readyz() -> None:
        expect(client.get("/readyz"), 200)

    anonymous = Client()

    def baseline() -> None:
        """The bench's minimal DRF POST (bench/baseline.py): a serializer and one INSERT."""
        note = {"name": "cpu", "quantity": 1}
        expect(anonymous.post("/bench/baseline", note, content_type="application/json"), 201)

    def product_list() -> None:
        offset = random.randrange(max(1, len(slugs) - 20))
        expect(client.get(f"{API}/store/products?limit=20&offset={offset}"), 200)

    def product_detail() -> None:
        expect(client.get(f"{API}/store/products/{random.choice(slugs)}"), 200)

    def buy(sku: str, quantity: int, **delivery: Any):
        body = {
            "lines": [{"sku": sku, "quantity": quantity}],
            "email": "cpu@example.com",
            "shipping_address": ADDRESS,
            "shipping_method": "standard",
            "payment": PAYMENT,
            **delivery,
        }
        return client.post(
            f"{API}/store/checkout",
            body,
            content_type="application/json",
            HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()),
        )

    def checkout() -> None:
        expect(buy(random.choice(skus), 1), 201)

    def checkout_delivery() -> None:
        """On demand, as the bench's scenario: every other one in a slot."""
        slot = {"delivery_slot": random.choice(slots)} if random.random() < 0.5 else {}
        on_demand = {"shipping_address": NEARBY, "shipping_method": "now", **slot}
        expect(buy(random.choice(skus), 1, **on_demand), 201)

    courier = _courier_on_a_delivery(client, random.choice(skus))
    sequence = iter(range(1, 10**9))

    def position() -> None:
        """A courier's position on the way (`/fulfiller/deliveries/{id}/location`)."""
        latitude = ZONE_LATITUDE + next(sequence) * 1e-6
        body = {"latitude": latitude, "longitude": ZONE_LONGITUDE}
        expect(courier.post(**body), 202)

    cart = client.post(
        f"{API}/store/carts",
        {"lines": [{"sku": skus[0], "quantity": 1}], "email": "cpu@example.com"},
        content_type="application/json",
    ).json()

    def cart_add_line() -> None:
        """One unit more of a SKU among 20 (the cart's lines stay within their limits)."""
        line = {"sku": random.choice(skus[:20]), "quantity": 1}
        response = client.post(
            f"{API}/store/carts/{cart['id']}/lines",
            line,
            content_type="application/json",
            HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()),
        )
        expect(response, 201)

    def sold_out() -> None:
        """The flash sale's usual answer: more than the SKU has left (409)."""
        expect(buy(flash_sku, 1000), 409)

    return {
        "readyz": readyz,
        "baseline": baseline,
        "product_list": product_list,
        "product_detail": product_detail,
        "checkout": checkout,
        "checkout_delivery": checkout_delivery,
        "position": position,
        "cart_add_line": cart_add_line,
        "sold_out": sold_out,
    }


class _CourierClient:
    def __init__(self, client, path: str) -> None:
        self.client, self.path = client, path

    def post(self, **body: Any):
        return self.client.post(self.path, body, content_type="application/json")


def _courier_on_a_delivery(customer, sku: str) -> _CourierClient:
    """A courier assigned to an on-demand order of `sku`, as the tracking scenario's."""
    from django.test import Client

    from bench.load import NEARBY, PAYMENT
    from delivery.couriers import courier_create
    from delivery.dispatch import delivery_assign
    from delivery.models import Delivery, DeliveryZone

    body = {"lines": [{"sku": sku, "quantity": 1}], "email": "cpu@example.com",
            "shipping_address": NEARBY, "shipping_method": "now", "payment": PAYMENT}  # fmt: skip
    answer = customer.post(f"{API}/store/checkout", body, content_type="application/json")
    delivery = Delivery.objects.get(order_id=int(answer.json()["id"]))
    zone = DeliveryZone.objects.get(code="bench-zone")
    courier, token = courier_create(name="CPU courier", warehouses=[zone.warehouse])
    delivery_assign(delivery=delivery, courier=courier, actor="bench")
    client = Client(HTTP_AUTHORIZATION=f"Bearer {token}")
    return _CourierClient(client, f"{API}/fulfiller/deliveries/{delivery.pk}/location")


def measure(operation: Callable, repeat: int, rounds: int = 3) -> dict[str, float]:
    """CPU and wall ms per call: the median of `rounds` rounds, after a warm-up."""
    for _ in range(max(10, repeat // 10)):
        operation()
    cpu, wall = [], []
    for _ in range(rounds):
        cpu_start, wall_start = time.process_time(), time.perf_counter()
        for _ in range(repeat):
            operation()
        cpu.append(1000 * (time.process_time() - cpu_start) / repeat)
        wall.append(1000 * (time.perf_counter() - wall_start) / repeat)
    return {"cpu_ms": statistics.median(cpu), "wall_ms": statistics.median(wall)}


def profile(name: str, operation: Callable, repeat: int) -> None:
    from pyinstrument import Profiler

    profiler = Profiler(interval=0.0005)
    profiler.start()
    for _ in range(repeat):
        operation()
    profiler.stop()
    (OUT / f"profile-{name}.txt").write_text(profiler.output_text(unicode=False, color=False))
    (OUT / f"profile-{name}.html").write_text(profiler.output_html())
    log(f"wrote {OUT / f'profile-{name}.txt'} and .html")


def cprofile(name: str, operation: Callable, repeat: int) -> float:
    """A cProfile of `repeat` calls on CPU time; returns Python function calls per call."""
    import cProfile
    import io
    import pstats

    profiler = cProfile.Profile(time.process_time)
    profiler.enable()
    for _ in range(repeat):
        operation()
    profiler.disable()
    stats = pstats.Stats(profiler, stream=io.StringIO())
    calls = stats.total_calls / repeat
    text = io.StringIO()
    text.write(f"{name}: {repeat} calls, {calls:,.0f} Python function calls per call\n\n")
    for order in ("tottime", "cumulative"):
        pstats.Stats(profiler, stream=text).sort_stats(order).print_stats(60)
    (OUT / f"cprofile-{name}.txt").write_text(text.getvalue())
    profiler.dump_stats(OUT / f"cprofile-{name}.pstats")
    log(f"{name}: {calls:,.0f} Python function calls per call; wrote cprofile-{name}.txt")
    return calls


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=200, help="calls per round (3 rounds)")
    parser.add_argument("--only", default="", help="comma-separated operations")
    parser.add_argument("--profile", default="", help="an operation to profile as well")
    parser.add_argument("--cprofile", default="", help="an operation to cProfile (CPU time)")
    args = parser.parse_args(argv)
    if "TEST_PG_PORT" not in os.environ:
        print("Run it through `make bench-cpu` (it starts PostgreSQL and Redis).", file=sys.stderr)
        return 2
    OUT.mkdir(parents=True, exist_ok=True)
    os.environ.update(server_env())
    import django

    django.setup()
    from django.core.management import call_command

    from bench.seed import seed

    create_database(os.environ["TEST_PG_PORT"])
    call_command("migrate", verbosity=0, interactive=False)
    seeded = seed(products=200, flash_stock=100)
    random.seed(1)
    ops = operations(
        seeded.keys, seeded.skus, seeded.slugs, seeded.flash_sku, seeded.delivery_slots
    )
    from backoffice.gc_tuning import gc_tune_after_startup

    tuned = gc_tune_after_startup()  # as backoffice/wsgi.py does in the server
    log(f"garbage collector: {'tuned as the server' if tuned else 'Python defaults'}")
    wanted = [name for name in args.only.split(",") if name] or list(ops)
    rounds = f"{args.repeat} calls x 3 rounds, median"
    print(f"{'operation':16} {'CPU ms':>8} {'wall ms':>8}   ({rounds})")
    for name in wanted:
        result = measure(ops[name], args.repeat)
        print(f"{name:16} {result['cpu_ms']:8.2f} {result['wall_ms']:8.2f}", flush=True)
    if args.profile:
        profile(args.profile, ops[args.profile], args.repeat)
    if args.cprofile:
        cprofile(args.cprofile, ops[args.cprofile], args.repeat)
    return 0


if __name__ == "__main__":
    sys.exit(main())
