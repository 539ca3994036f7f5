"""What a soak samples while steady traffic runs, and the test that a series stays flat.

A sample is the resident memory and open file descriptors of the web and worker processes
(from /proc), Postgres' connections by `application_name` (`pg_stat_activity`), Redis'
connected clients (`INFO clients`), and the inbox's backlog (pending, and of those the ones a
worker holds a lease on). A series is flat when the median of its last third is within a
tolerance of the median of its first third, and its least-squares slope, over the whole run,
adds no more than that tolerance: a leak grows with the traffic, so both see it, while a
high-water mark reached early (an allocator arena, a pool filled) moves neither.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from redis.asyncio import Redis
from sqlalchemy import text

from app.bot.inbox import PUT_POOL_SIZE
from app.config import DatabaseSettings, RedisSettings

if TYPE_CHECKING:
    from collections.abc import Callable

    from sqlalchemy.ext.asyncio import AsyncEngine

    from tests.reliability.stack import Process, Stack


@dataclass(frozen=True)
class Sample:
    at: float
    """Seconds since the soak began."""
    posted: int
    """Updates posted so far."""
    web_rss_mib: float
    worker_rss_mib: float
    web_fds: int
    """Descriptors other than connections to Redis (those are `redis_clients`)."""
    worker_fds: int
    pg_connections: dict[str, int]
    """Backends by application_name ('' for the app's main pools, which set none)."""
    redis_clients: int
    pending: int
    """Updates stored and not finished (the inbox's backlog)."""
    processing: int
    """Of those, the ones a worker holds a lease on."""

    @property
    def pg_total(self) -> int:
        return sum(self.pg_connections.values())


def fds(process: Process, *, besides_port: int) -> int:
    """Open file descriptors of the process (0 when it is not running), leaving out its TCP
    connections to `besides_port`: Redis', a bounded pool counted in a series of its own."""
    if process.proc is None:
        return 0
    pid = process.proc.pid
    links = []
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        with contextlib.suppress(FileNotFoundError):  # closed meanwhile
            links.append(os.readlink(fd))
    pooled = set()
    for table_ in ("tcp", "tcp6"):
        for line in Path(f"/proc/{pid}/net/{table_}").read_text().splitlines()[1:]:
            fields = line.split()  # sl local remote state ... uid timeout inode
            if int(fields[2].rsplit(":", 1)[1], 16) == besides_port:
                pooled.add(f"socket:[{fields[9]}]")
    return sum(1 for link in links if link not in pooled)


async def sample(
    stack: Stack, engine: AsyncEngine, redis: Redis, *, began: float, posted: int
) -> Sample:
    """One sample of everything the soak watches. The test's own connection is left out."""
    async with engine.connect() as conn:
        by_name = (
            await conn.execute(
                text(
                    "SELECT application_name, count(*) FROM pg_stat_activity"
                    " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                    " GROUP BY application_name"
                )
            )
        ).all()
        pending, processing = (
            await conn.execute(
                text(
                    "SELECT count(*), count(*) FILTER (WHERE locked_until > now())"
                    " FROM telegram_inbox WHERE status = 'pending'"
                )
            )
        ).one()
    clients = int((await redis.info("clients"))["connected_clients"]) - 1  # ourselves
    return Sample(
        at=time.monotonic() - began,
        posted=posted,
        web_rss_mib=stack.web.rss_kib() / 1024,
        worker_rss_mib=stack.worker.rss_kib() / 1024,
        web_fds=fds(stack.web, besides_port=stack.redis.port),
        worker_fds=fds(stack.worker, besides_port=stack.redis.port),
        pg_connections={str(name): int(count) for name, count in by_name},
        redis_clients=clients,
        pending=int(pending),
        processing=int(processing),
    )


@dataclass
class Sampler:
    """Samples every `interval` seconds until stopped."""

    stack: Stack
    engine: AsyncEngine
    interval: float
    posted: Callable[[], int]
    """The updates posted so far."""
    echo: bool = False
    """Print each sample as it is taken (a long run shows its progress)."""
    samples: list[Sample] = field(default_factory=list)

    began: float = field(default_factory=time.monotonic)

    async def run(self, began: float) -> None:
        """Sample until cancelled; `began` is the time samples count from."""
        self.began = began
        while True:
            await self.take()
            await asyncio.sleep(self.interval)

    async def take(self) -> Sample:
        """One sample, kept."""
        redis = Redis.from_url(self.stack.redis.url)
        try:
            taken = await sample(
                self.stack, self.engine, redis, began=self.began, posted=self.posted()
            )
        finally:
            await redis.aclose()
        self.samples.append(taken)
        if self.echo:
            print(table(self.samples[-1:]).splitlines()[-1], flush=True)
        return taken


@dataclass(frozen=True)
class Trend:
    """A series' first and last thirds and its growth over the run."""

    name: str
    first: float
    """Median of the first third."""
    last: float
    """Median of the last third."""
    growth: float
    """Least-squares slope times the run's length: what the series gained by its trend."""
    tolerance: float

    @property
    def flat(self) -> bool:
        return self.last - self.first <= self.tolerance and self.growth <= self.tolerance

    def row(self) -> str:
        verdict = "flat" if self.flat else "GROWS"
        return (
            f"{self.name:<22} first third {self.first:9.1f}  last third {self.last:9.1f}"
            f"  trend {self.growth:+9.1f}  tolerance {self.tolerance:7.1f}  {verdict}"
        )


def trend(name: str, at: list[float], values: list[float], tolerance: float) -> Trend:
    """`values` sampled at `at` seconds: thirds' medians and the linear fit's growth."""
    third = max(1, len(values) // 3)
    slope = statistics.linear_regression(at, values).slope if len(set(at)) > 1 else 0.0
    return Trend(
        name=name,
        first=statistics.median(values[:third]),
        last=statistics.median(values[-third:]),
        growth=slope * (at[-1] - at[0]),
        tolerance=tolerance,
    )


REDIS_CLIENTS = 5
"""Redis clients of a web and a worker process at most, each with its own bounded pool."""


def assert_bounded(samples: list[Sample], *, backlog: int) -> None:
    """What holds however long a run is: the processes' pools bound their connections, and the
    backlog stays under `backlog`. Postgres: per process, the engine's pool_size plus
    SQLAlchemy's overflow of 10 and the webhook's pool; the listeners (catalog, index sync,
    inbox) a few more."""
    per_process = DatabaseSettings().pool_size + 10 + PUT_POOL_SIZE
    assert max(s.pg_total for s in samples) <= 2 * per_process + 10, table(samples)
    assert max(s.pending for s in samples) <= backlog, f"the backlog ran away\n{table(samples)}"
    # A process that leaked a descriptor per request would hold thousands.
    assert max(max(s.web_fds, s.worker_fds) for s in samples) <= 200, table(samples)
    # Redis clients: the web's (caches, panel sessions) and the worker's (caches, flood limits,
    # spend), each pool bounded.
    most = REDIS_CLIENTS * RedisSettings().max_connections
    assert max(s.redis_clients for s in samples) <= most, table(samples)


def table(samples: list[Sample]) -> str:
    """The samples as rows (one in `every` when there are many), for the report."""
    names = sorted({name for s in samples for name in s.pg_connections})
    short = [name.removeprefix("kramar-") or "app" for name in names]
    head = (
        f"{'t s':>6} {'posted':>6} {'web MiB':>8} {'wrk MiB':>8} {'web fd':>6} {'wrk fd':>6}"
        f" {'redis':>5} {'pend':>5} {'proc':>5} {'pg':>4} "
        + " ".join(f"{n[:14]:>14}" for n in short)
    )
    every = max(1, len(samples) // 40)
    rows = [head]
    for index, s in enumerate(samples):
        if index % every and index != len(samples) - 1:
            continue
        rows.append(
            f"{s.at:6.0f} {s.posted:6d} {s.web_rss_mib:8.1f} {s.worker_rss_mib:8.1f}"
            f" {s.web_fds:6d} {s.worker_fds:6d} {s.redis_clients:5d} {s.pending:5d}"
            f" {s.processing:5d} {s.pg_total:4d} "
            + " ".join(f"{s.pg_connections.get(n, 0):14d}" for n in names)
        )
    return "\n".join(rows)
