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

from pydantic import SecretStr

from app.cache.memory import MemoryBackend
from app.cache.product import ProductCache
from app.cache.redis import RedisBackend
from app.cache.vision import VisionCache
from app.catalog.service import CatalogService, load_card
from app.catalog.version import CatalogVersion
from app.config import DatabaseSettings, RedisSettings, Settings, VisionSettings
from app.dialog.engine import Customer
from app.observability import tracing
from app.observability.metrics import VISION_CONFIDENCE, VISION_LATENCY, VISION_REQUESTS
from app.services import open_services
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


def start_collector() -> tuple[subprocess.Popen[str], str]:
    """The OTLP collector stand-in in its own process (as in production); its endpoint."""
    collector = subprocess.Popen(
        [sys.executable, "-c", COLLECTOR],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert collector.stdin is not None and collector.stdout is not None
    return collector, collector.stdout.readline().strip()


async def main() -> list[Row]:
    collector, endpoint = start_collector()
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
    rows.append(Row("tracing", "spans exported per turn", per_turn, "spans", note=note))
    return [*rows, *await text_turns()]


QUESTION = "скільки коштує костюм мрія лайт?"
TEXT_ROUNDS = 40
TEXT_TURNS = 50


async def text_turns() -> list[Row]:
    """The issue's text turn: `Conversation.text` (offline agent, retrieval, cards, session on
    Redis) inside the worker's span, with tracing exported and without, alternating."""
    collector, endpoint = start_collector()
    redis = RedisServer()
    redis.start()
    samples: dict[bool, list[float]] = {False: [], True: []}
    ratios: list[float] = []
    try:
        async with demo_database() as (engine, _):
            url = engine.url.render_as_string(hide_password=False)
            settings = Settings(
                _env_file=None,
                database=DatabaseSettings(url=SecretStr(url)),
                redis=RedisSettings(url=SecretStr(redis.url)),
                otlp_endpoint=endpoint,
            )
            async with open_services(settings) as services:
                customer = Customer(42, name="Олена")

                async def turn() -> None:
                    with tracing.span("telegram.update", {"telegram.kind": "message"}):
                        await services.conversation.text(customer, QUESTION, event_id="b")

                await timed(turn, TEXT_TURNS)
                for round_ in range(TEXT_ROUNDS):
                    medians: dict[bool, float] = {}
                    for exported in (False, True) if round_ % 2 else (True, False):
                        shutdown = tracing.configure_tracing(settings) if exported else None
                        taken = await timed(turn, TEXT_TURNS)
                        samples[exported] += taken
                        medians[exported] = statistics.median(taken)
                        if shutdown is not None:
                            shutdown()
                    ratios.append(medians[True] / medians[False])
    finally:
        redis.close()
        received, _ = collector.communicate("", timeout=30)
    off_ms, on_ms = (statistics.median(samples[side]) * 1e3 for side in (False, True))
    spans = int(received) / (TEXT_ROUNDS * TEXT_TURNS)
    note = f"{TEXT_ROUNDS}×{TEXT_TURNS} turns a side, alternating; {spans:.0f} spans a turn"
    return [
        Row("tracing", "text turn (offline agent, Redis), off, p50", off_ms, "ms", note=note),
        Row("tracing", "text turn, spans exported over OTLP/HTTP, p50", on_ms, "ms"),
        Row(
            "tracing",
            "tracing overhead on the text turn",
            (statistics.median(ratios) - 1) * 100,
            "%",
            "<= 5 %",
            "median over rounds of (p50 on / p50 off) of the same round; metrics on in both",
        ),
    ]


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
        Row("tracing", "tracing overhead per turn", overhead, "%", note="p50 on / p50 off"),
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
