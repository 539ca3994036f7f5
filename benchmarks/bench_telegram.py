"""The Telegram path end to end: real `kramar serve` (webhook mode, embedded Postgres, demo
catalog, offline agent) as a web process that only acknowledges plus a worker process, on CPU 0;
the load generator and the Bot API stand-in on CPU 1. For the rows of a web replica alone its
Postgres moves to CPU 1 as well, below the generator (`benchmarks.servers.move_database`): in the
chart the database is a pod of its own, never on the web replica's CPU.

Rows: webhook acknowledgement latency under a steady open-loop load (scheduled sends, latency
from the scheduled time, so a stalled server is charged for the queue behind it), and text turns
fully processed per second (webhook in → reply recorded by the stand-in) against the bare
Litestar handler's req/s, measured side by side in the same run.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

from benchmarks.servers import (
    LOAD_CPU,
    ROOT,
    bare_server,
    checkout,
    kramar_server,
    kramar_server_at,
    wrk,
)
from benchmarks.table import Row
from benchmarks.telegram_load import (
    OpenLoopResult,
    StandIn,
    open_loop_apart,
    pinned,
    post_all,
    quantile,
    stand_in,
    telegram_env,
    text_update,
)

if TYPE_CHECKING:
    from collections.abc import Iterator

GROUP = "telegram"
SKU = "KR-KS-001"
QUESTIONS = (
    "скільки коштує костюм мрія",
    "є костюм мрія лайт?",
    "ціна костюма лагуна",
    "які розміри є у худі затишок?",
)
WARM_UP = 50
TURNS = 200  # per round of the turns/s figure
ROUNDS = 2  # alternate bare and kramar so drift on this shared machine hits both alike
RATE = 200  # updates/s of the acknowledgement figure (the load)
SECONDS = 30
SPIKE_RATE = 1_000  # a sale-day spike against a web replica alone (the row)
SPIKE_SECONDS = 5
SPIKE_ROUNDS = 3
SPIKE_WARM_UP_SECONDS = 3
"""A spike's worth of warm-up per server first: a replica in service has its pool open, its
code paths warm and its database's WAL segments made."""
CALM_RATE = 40  # a rate the workers of one core keep up with, to see the webhook on its own
CALM_SECONDS = 8
# Module time caps: responses still missing this long after the last scheduled send are cut
# off (counted at their lower bound), and the backlog is waited for this long afterwards.
TAIL_SECONDS = 10
DRAIN_SECONDS = 10
NOTE_ENV = (
    "web process (0 workers) + worker process (8 workers) on one CPU, flood limits off, "
    "offline agent"
)


class Updates:
    """Unique update ids across the run (a repeated id is a no-op for the inbox)."""

    def __init__(self) -> None:
        self._next = 0

    def batch(self, count: int, first_chat: int, chats: int) -> list[bytes]:
        bodies = []
        for i in range(count):
            self._next += 1
            text = QUESTIONS[i % len(QUESTIONS)]
            bodies.append(text_update(self._next, first_chat + i % chats, text))
        return bodies


def turns_per_second(base: str, tg: StandIn, bodies: list[bytes]) -> float:
    """Post every update as fast as the webhook takes them; time until every reply is sent."""
    before = tg.count()
    started = time.perf_counter()
    failed = asyncio.run(post_all(base, bodies))
    if failed or not tg.wait(before + len(bodies), timeout=90):
        raise RuntimeError(f"turns: {failed} rejected, {tg.count() - before}/{len(bodies)} replies")
    return len(bodies) / (time.perf_counter() - started)


@dataclass(frozen=True)
class AckRun:
    latencies: list[float]
    errors: int
    unanswered: int
    late_sends: int
    replied_during: int
    """Replies the stand-in had recorded when the last request was answered or cut off."""
    drained_after: float | None
    """Seconds after that until every update had its reply; None: not within the wait."""


def acknowledge(base: str, tg: StandIn, bodies: list[bytes], rate: int, wait: float) -> AckRun:
    """An open-loop run at `rate` updates/s, then up to `wait` s for the backlog to drain."""
    before = tg.count()
    result = open_loop_apart(base, bodies, 1 / rate, tail=TAIL_SECONDS)
    ended = time.perf_counter()
    during = tg.count() - before
    drained = tg.wait(before + len(bodies), timeout=wait)
    return AckRun(
        result.latencies,
        result.errors,
        result.unanswered,
        result.late_sends,
        during,
        time.perf_counter() - ended if drained else None,
    )


def ms(samples: list[float], q: float) -> float:
    return quantile(samples, q) * 1e3


STEAL_WINDOW = 0.25
"""Seconds of each sample of the host's steal time (what the hypervisor ran instead of us)."""


def _cpu_times() -> list[list[int]]:
    with open("/proc/stat") as stat:
        return [
            [int(v) for v in line.split()[1:]]
            for line in stat
            if line.startswith("cpu") and line[3].isdigit()
        ]


@contextmanager
def stolen() -> Iterator[list[float]]:
    """Yields a list that gets, for each `STEAL_WINDOW` while the block runs and each CPU, the
    share of its time the hypervisor stole: on a shared host, the slow rounds are its rounds."""
    shares: list[float] = []
    done = threading.Event()

    def sample() -> None:
        before = _cpu_times()
        while not done.wait(STEAL_WINDOW):
            now = _cpu_times()
            for new, old in zip(now, before, strict=True):
                delta = [a - b for a, b in zip(new, old, strict=True)]
                shares.append(delta[7] / sum(delta) if sum(delta) else 0.0)
            before = now

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        yield shares
    finally:
        done.set()
        sampler.join()


@dataclass(frozen=True)
class Spike:
    """One spike round, and the host's steal shares while it ran (see `stolen`)."""

    result: OpenLoopResult
    steal: list[float]


@dataclass(frozen=True)
class Spikes:
    """The spike against a web replica of the baseline tree and of this one, alternated."""

    baseline: str
    before: list[Spike]
    after: list[Spike]


def _spike_round(run: Spike) -> str:
    r = run.result
    return (
        f"p50 {ms(r.latencies, 0.5):.1f} / p99 {ms(r.latencies, 0.99):.1f} / max "
        f"{max(r.latencies) * 1e3:.0f} ms, sent at {r.achieved_rate:.0f}/s, {r.late_sends} of "
        f"{SPIKE_RATE * SPIKE_SECONDS} sends >1 ms late, {r.errors} non-200, {r.unanswered} "
        f"unanswered, host steal up to {max(run.steal, default=0) * 100:.0f} % of a CPU"
    )


def spike_note(runs: list[Spike]) -> str:
    return f"median of {len(runs)} rounds: {'; '.join(_spike_round(run) for run in runs)}"


def web_replica_alone(updates: Updates, tg: StandIn) -> tuple[OpenLoopResult, Spikes]:
    """The issue's load against a web replica whose workers and database run elsewhere: nothing
    else on the server CPU, as with separate pods. The backlog stays in the inbox.
    Then a spike at SPIKE_RATE, against this tree and the baseline (BENCH_BASELINE, default
    `main`) in turn, so the two figures share the machine's noise."""
    env = {**telegram_env(tg.url), "KRAMAR_TELEGRAM_WORKERS": "0"}
    baseline = os.environ.get("BENCH_BASELINE", "main")
    with (
        checkout(baseline) as old,
        kramar_server_at(old, None, env, database_apart=True) as base_old,
        kramar_server_at(ROOT, None, env, database_apart=True) as base,
    ):
        for server in (base_old, base):
            open_loop_apart(server, updates.batch(WARM_UP, 900_000, WARM_UP), 1 / RATE, tail=5)
            warm = updates.batch(SPIKE_RATE * SPIKE_WARM_UP_SECONDS, 800_000, 2_000)
            open_loop_apart(server, warm, 1 / SPIKE_RATE, tail=TAIL_SECONDS)
        total = RATE * SECONDS
        steady = open_loop_apart(
            base, updates.batch(total, 300_000, 1_000), 1 / RATE, tail=TAIL_SECONDS
        )
        spikes = Spikes(baseline, [], [])
        for _ in range(SPIKE_ROUNDS):
            for server, runs in ((base_old, spikes.before), (base, spikes.after)):
                bodies = updates.batch(SPIKE_RATE * SPIKE_SECONDS, 400_000, 2_000)
                with stolen() as steal:
                    result = open_loop_apart(server, bodies, 1 / SPIKE_RATE, tail=TAIL_SECONDS)
                runs.append(Spike(result, steal))
        return steady, spikes


def run() -> list[Row]:
    updates = Updates()
    with pinned(int(LOAD_CPU)), stand_in() as tg:
        alone, spikes = web_replica_alone(updates, tg)
    # The generator and the stand-in (spawned here, so it inherits the mask) on the load CPU;
    # `kramar serve` and the bare app are pinned to the server CPU by `benchmarks.servers`.
    with (
        pinned(int(LOAD_CPU)),
        stand_in() as tg,
        bare_server() as bare,
        # The webhook process only acknowledges; a second process on the same database works
        # the inbox off, as web and worker replicas would (KRAMAR_TELEGRAM_WORKERS=0).
        kramar_server(
            companion={"KRAMAR_TELEGRAM_WORKERS": "8"},
            **telegram_env(tg.url),
            KRAMAR_TELEGRAM_WORKERS="0",
        ) as base,
    ):
        turns_per_second(base, tg, updates.batch(WARM_UP, 1_000, WARM_UP))
        warm = tg.count()
        if warm != WARM_UP:
            raise RuntimeError(f"expected one reply per text turn, got {warm} for {WARM_UP}")
        bare_rps: list[float] = []
        turn_rates: list[float] = []
        for round_ in range(ROUNDS):
            bare_rps.append(wrk(f"{bare}/bare/{SKU}", seconds=5))
            first = 10_000 * (round_ + 1)
            turn_rates.append(turns_per_second(base, tg, updates.batch(TURNS, first, TURNS)))

        calm = acknowledge(
            base, tg, updates.batch(CALM_RATE * CALM_SECONDS, 100_000, 200), CALM_RATE, 30
        )
        total = RATE * SECONDS
        replies_before = tg.count()
        rush = acknowledge(base, tg, updates.batch(total, 200_000, 1_000), RATE, DRAIN_SECONDS)
        processed = tg.count() - replies_before

    turns, bare_b = statistics.median(turn_rates), statistics.median(bare_rps)
    backlog = (
        f"backlog drained {rush.drained_after:.1f} s after the last response"
        if rush.drained_after is not None
        else f"backlog NOT drained: {processed}/{total} processed when the wait "
        f"({DRAIN_SECONDS} s after the last response or cut-off) ended"
    )
    bound = "≥ (lower bound: some cut off) " if rush.unanswered else ""
    load = f"open loop {RATE}/s × {SECONDS} s ({total} text updates, 1000 chats), loopback"
    return [
        Row(
            GROUP,
            f"webhook ack p50 at {RATE} updates/s, web replica alone",
            ms(alone.latencies, 0.50),
            "ms",
            note=(
                f"open loop {RATE}/s × {SECONDS} s, 1000 chats; KRAMAR_TELEGRAM_WORKERS=0 and no "
                "worker on this machine (workers on other nodes), Postgres on the load CPU: the "
                "ack path itself"
            ),
        ),
        Row(
            GROUP,
            f"webhook ack p99 at {RATE} updates/s, web replica alone",
            ms(alone.latencies, 0.99),
            "ms",
            goal="<= 10 ms",
            note=(
                f"max {max(alone.latencies) * 1e3:.0f} ms; {alone.errors} non-200, "
                f"{alone.unanswered} unanswered; {alone.late_sends} sends >1 ms late"
            ),
        ),
        *(
            Row(
                GROUP,
                f"webhook ack p99 at {SPIKE_RATE} updates/s, web replica alone, {label}",
                statistics.median(ms(r.result.latencies, 0.99) for r in runs),
                "ms",
                goal="<= 10 ms, 0 non-200" if label.startswith("after") else "",
                note=(
                    f"open loop {SPIKE_RATE}/s × {SPIKE_SECONDS} s, 2000 chats; "
                    f"{spike_note(runs)} (late sends are the generator's own lag, charged to "
                    "the latency: it counts from the slot)"
                ),
            )
            for label, runs in (
                (f"before ({spikes.baseline})", spikes.before),
                ("after (this tree)", spikes.after),
            )
        ),
        Row(
            GROUP,
            f"webhook ack p50 at {RATE} updates/s, worker on the same CPU",
            ms(rush.latencies, 0.50),
            "ms",
            note=f"{bound}{load}; {NOTE_ENV}",
        ),
        Row(
            GROUP,
            f"webhook ack p99 at {RATE} updates/s, worker on the same CPU",
            ms(rush.latencies, 0.99),
            "ms",
            note=(
                f"{bound}max {max(rush.latencies) * 1e3:.0f} ms; {rush.errors} non-200, "
                f"{rush.unanswered} unanswered {TAIL_SECONDS} s after the last send; "
                f"{rush.replied_during} replied by then; {backlog}; latency from the scheduled "
                f"send (no coordinated omission); {rush.late_sends} sends >1 ms late"
            ),
        ),
        Row(
            GROUP,
            f"webhook ack p99 at {CALM_RATE} updates/s",
            ms(calm.latencies, 0.99),
            "ms",
            note=(
                f"p50 {ms(calm.latencies, 0.5):.1f} ms; {calm.errors} non-200, "
                f"{calm.unanswered} unanswered; {CALM_SECONDS} s, 200 chats; backlog "
                + ("drained" if calm.drained_after is not None else "NOT drained")
                + "; below the processing capacity, for comparison"
            ),
        ),
        Row(
            GROUP,
            "bare Litestar handler, constant JSON",
            bare_b,
            "req/s",
            note="uvicorn, 1 worker, wrk -c32 5 s, same CPU as kramar",
        ),
        Row(
            GROUP,
            "text turns fully processed",
            turns,
            "turns/s",
            note=(
                f"{TURNS} product questions in {TURNS} chats posted at once (16 in flight) until "
                f"the stand-in recorded every reply (card + photo); median of {ROUNDS}; {NOTE_ENV}"
            ),
        ),
        Row(GROUP, "text turns / bare handler", 100 * turns / bare_b, "%"),
    ]


if __name__ == "__main__":
    from benchmarks.table import render

    print(render(run()))
