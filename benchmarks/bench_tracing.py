"""What tracing costs a turn: the instrumented paths of a turn with spans exported, and without.

A "turn" here is what a customer's message costs in our instrumented code, minus the model: a
product card read from the real database through `CatalogService` (the DB spans), and a repeat
photo identified through the vision cache on a real Redis (the pipeline and Redis spans, with the
pipeline's metrics). A model turn adds its LLM spans to a request of a second or more: there the
tracing overhead is far below this one. Both sides run
in the same process, in alternating rounds, so drift and the noise of a shared machine fall on
both alike. The exporter sends to the collector stand-in in a separate process, as in production.

Metrics are updated in both sides (they are always on); their own cost per turn is a row too.
"""

from __future__ import annotations

import asyncio
import statistics
import subprocess
import sys
import time
from functools import partial
from pathlib import Path

from app.cache.memory import MemoryBackend
from app.cache.product import ProductCache
from app.cache.redis import RedisBackend
from app.cache.vision import VisionCache
from app.catalog.service import CatalogService, load_card
from app.catalog.version import CatalogVersion
from app.config import Settings, VisionSettings
from app.observability import tracing
from app.observability.metrics import VISION_CONFIDENCE, VISION_LATENCY, VISION_REQUESTS
from app.vision.pipeline import CatalogPhotoIndex, PhotoIdentifier
from benchmarks.bench_identify import DEMO, SKU, customer_jpeg
from benchmarks.servers import demo_database
from benchmarks.table import Row
from tests.servers.redis import RedisServer

ROOT = Path(__file__).resolve().parent.parent
ROUNDS = 20
TURNS = 100  # per round and side
SPAN_RUNS = 2_000

COLLECTOR = """
import sys
from tests.servers.otlp import OTLPCollector
collector = OTLPCollector()
collector.start()
print(collector.endpoint, flush=True)
sys.stdin.read()
collector.stop()
print(len(collector.spans), flush=True)
"""


async def main() -> list[Row]:
    collector = subprocess.Popen(  # noqa: ASYNC220 (once, before anything is timed)
        [sys.executable, "-c", COLLECTOR],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert collector.stdin is not None and collector.stdout is not None
    endpoint = collector.stdout.readline().strip()
    redis = RedisServer()
    try:
        async with demo_database() as (engine, session_factory):
            version = CatalogVersion(engine)
            await version.start()
            redis.start()
            backend = RedisBackend(redis.url)
            try:
                rows = await measure(session_factory, version, backend, endpoint)
            finally:
                await backend.close()
                await version.stop()
    finally:
        redis.close()
        exported, _ = collector.communicate("", timeout=30)
    per_turn = (int(exported) - SPAN_RUNS) / (ROUNDS * TURNS)
    note = "all arrived" if per_turn.is_integer() else "some lost"
    return [*rows, Row("tracing", "spans exported per turn", per_turn, "spans", note=note)]


async def measure(session_factory, version, redis: RedisBackend, endpoint: str) -> list[Row]:
    vision = VisionSettings()
    cards = ProductCache(
        MemoryBackend(), partial(load_card, session_factory), 3600, version.current
    )
    identifier = PhotoIdentifier(
        cache=VisionCache(redis, 86400, 6, vision.match_max_color_distance),
        index=CatalogPhotoIndex(session_factory, version),
        cards=cards.get,
        version=version,
        settings=vision,
    )
    photo = customer_jpeg(DEMO.parent / "photos" / f"{SKU}.png")
    assert (await identifier.identify(photo)).sku == SKU

    async def turn() -> None:
        async with CatalogService(session_factory) as catalog:
            await catalog.get_product(SKU)
        assert (await identifier.identify(photo)).source == "cache"

    settings = Settings(_env_file=None, otlp_endpoint=endpoint)
    await timed(turn)  # warm-up: pooled connections, lazy imports
    samples: dict[bool, list[float]] = {False: [], True: []}
    spans: dict[bool, float] = {}
    for round_ in range(ROUNDS):
        # Which side goes first alternates, so neither always runs on a warmer machine.
        for exported in (False, True) if round_ % 2 else (True, False):
            shutdown = tracing.configure_tracing(settings) if exported else None
            samples[exported] += await timed(turn)
            if shutdown is not None:
                shutdown()  # flushes: this round's export does not spill into the next side
    # Apart from the turns: thousands of spans in a row make garbage and exports of their own.
    spans[False] = empty_span_seconds()
    shutdown = tracing.configure_tracing(settings)
    assert shutdown is not None
    spans[True] = empty_span_seconds()
    shutdown()
    off_ms, on_ms = (statistics.median(samples[side]) * 1e3 for side in (False, True))
    overhead = (on_ms / off_ms - 1) * 100
    span_off_us, span_on_us = (spans[side] * 1e6 for side in (False, True))
    metrics_us = metrics_per_turn() * 1e6
    note = f"{ROUNDS}×{TURNS} turns a side, alternating"
    return [
        Row("tracing", "turn (DB card + photo via Redis cache), off, p50", off_ms, "ms", note=note),
        Row("tracing", "turn, spans exported over OTLP/HTTP, p50", on_ms, "ms"),
        Row("tracing", "tracing overhead per turn", overhead, "%", "<= 5 %", "p50 on / p50 off"),
        Row(
            "tracing",
            "one span, exported",
            span_on_us,
            "µs",
            note=f"{SPAN_RUNS} empty spans in a row: the export thread's share included",
        ),
        Row("tracing", "one span, tracing off", span_off_us, "µs"),
        Row(
            "tracing",
            "metrics updates per turn",
            metrics_us / (off_ms * 1e3) * 100,
            "%",
            "<= 5 %",
            f"{metrics_us:.1f} µs of {off_ms:.2f} ms",
        ),
    ]


async def timed(turn, runs: int = TURNS) -> list[float]:
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        await turn()
        samples.append(time.perf_counter() - started)
    return samples


def empty_span_seconds(runs: int = SPAN_RUNS) -> float:
    """Seconds one empty span costs the caller (export happens on the SDK's thread)."""
    started = time.perf_counter()
    for _ in range(runs):
        with tracing.span("bench", {"bench.n": 1}):
            pass
    return (time.perf_counter() - started) / runs


def metrics_per_turn(runs: int = 20_000) -> float:
    """Seconds the metric updates of an identification take (what `_done` does)."""
    started = time.perf_counter()
    for _ in range(runs):
        VISION_REQUESTS.labels("cache").inc()
        VISION_LATENCY.observe(0.001)
        VISION_CONFIDENCE.observe(0.9)
    return (time.perf_counter() - started) / runs


def run() -> list[Row]:
    return asyncio.run(main())
