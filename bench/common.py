"""What the bench's modules share: where results go, the plans, logging, free ports."""

from __future__ import annotations

import socket
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "var" / "bench"
# The on-demand zone (bench/seed.py): 50 km around the first warehouse's point.
ZONE_LATITUDE, ZONE_LONGITUDE = 39.70, -89.65


@dataclass(frozen=True)
class Phase:
    """One scenario: how many clients, for how long at most, how many operations at most."""

    name: str
    concurrency: int
    duration: float
    max_ops: int = 10_000_000


@dataclass(frozen=True)
class Plan:
    phases: tuple[Phase, ...]
    warmup_seconds: float
    pgbench_seconds: int
    memory_window: float
    products: int = 1000
    flash_stock: int = 500
    flash_attempts: int = 2000


FULL = Plan(
    phases=(
        Phase("readyz", 32, 30),
        Phase("baseline", 32, 60),
        Phase("browse", 32, 60),
        Phase("browse-cold", 32, 30),
        Phase("browse-during-sale", 32, 60),
        Phase("cart", 32, 60),
        Phase("checkout", 32, 60),
        Phase("checkout-delivery", 32, 60),
        Phase("flash-sale", 64, 240, 2000),
    ),
    warmup_seconds=5,
    pgbench_seconds=20,
    memory_window=60,
)
# Under two minutes: a smaller catalog and the flash sale at a fifth of its size.
QUICK = Plan(
    phases=(
        Phase("readyz", 32, 8),
        Phase("baseline", 32, 12),
        Phase("browse", 32, 10),
        Phase("browse-cold", 32, 8),
        Phase("browse-during-sale", 32, 10),
        Phase("cart", 32, 10),
        Phase("checkout", 32, 12),
        Phase("checkout-delivery", 32, 12),
        Phase("flash-sale", 64, 60, 400),
    ),
    warmup_seconds=2,
    pgbench_seconds=8,
    memory_window=10,
    products=200,
    flash_stock=100,
    flash_attempts=400,
)


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
