"""Token and cost accounting: spend per model per UTC day, shared by every replica.

The daily budget is checked against this ledger, so increments must be atomic across replicas:
a read-modify-write through the cache backend (get/set only) would lose concurrent updates. Hence a
small `CostLedger` protocol with an in-process implementation and a Redis one (HINCRBYFLOAT).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

from redis.exceptions import RedisError

from app.cache.redis import redis_client

if TYPE_CHECKING:
    from redis.asyncio import Redis

    from app.llm.settings import LinkSettings

log = logging.getLogger(__name__)


def utc_today() -> date:
    return datetime.now(UTC).date()


def cost_usd(link: LinkSettings, tokens_in: int, tokens_out: int) -> float:
    """US dollars that `tokens_in` prompt and `tokens_out` completion tokens cost on `link`."""
    return (tokens_in * link.input_usd_per_mtok + tokens_out * link.output_usd_per_mtok) / 1_000_000


@dataclass(frozen=True, slots=True)
class Spend:
    day: date
    model: str
    usd: float
    tokens_in: int
    tokens_out: int


class CostLedger(Protocol):
    async def add(self, day: date, model: str, usd: float, tokens_in: int, tokens_out: int) -> None:
        """Add one response's cost and tokens to the day's totals of `model` (atomically)."""

    async def spend(self, day: date) -> list[Spend]:
        """The totals of every model that spent something on `day`; empty when unreachable."""

    async def close(self) -> None:
        """Release connections."""


async def total_usd(ledger: CostLedger, day: date) -> float:
    """Spend of all models on `day`, in US dollars."""
    return sum(s.usd for s in await ledger.spend(day))


async def spend_report(
    ledger: CostLedger, days: int = 7, *, today: date | None = None
) -> list[tuple[date, str, float, int, int]]:
    """(day, model, usd, tokens_in, tokens_out) for the last `days` UTC days, newest first."""
    end = today or utc_today()
    rows: list[tuple[date, str, float, int, int]] = []
    for back in range(days):
        day = end - timedelta(days=back)
        for s in sorted(await ledger.spend(day), key=lambda s: s.model):
            rows.append((s.day, s.model, s.usd, s.tokens_in, s.tokens_out))
    return rows


class MemoryLedger:
    """The ledger of one process (the embedded default); forgotten on restart."""

    def __init__(self) -> None:
        self._totals: dict[tuple[date, str], Spend] = {}

    async def add(self, day: date, model: str, usd: float, tokens_in: int, tokens_out: int) -> None:
        old = self._totals.get((day, model), Spend(day, model, 0.0, 0, 0))
        self._totals[day, model] = Spend(
            day, model, old.usd + usd, old.tokens_in + tokens_in, old.tokens_out + tokens_out
        )

    async def spend(self, day: date) -> list[Spend]:
        return [s for (d, _), s in self._totals.items() if d == day]

    async def close(self) -> None:
        return None


class RedisLedger:
    """The ledger in Redis: hash `kramar:spend:{day}:{model}` (usd, tokens_in, tokens_out) and set
    `kramar:spend:{day}` of the models that spent that day.

    An outage loses that spend (logged) and reads as no spend: customers keep being served by
    every link rather than by none, and the budget holds again when Redis is back.
    """

    def __init__(
        self,
        url: str,
        *,
        # Longer than the caches' 0.25 s: a lost spend record makes the budget undercount, and
        # this runs beside model calls that take seconds, not on a millisecond path.
        timeout: float = 1.0,
        retention_days: int = 90,
        max_connections: int = 32,
        client: Redis | None = None,
    ) -> None:
        """`timeout`: seconds to connect, to wait for a free connection and to read a reply;
        `retention_days`: days kept; `max_connections`: the pool's bound."""
        self._redis = client or redis_client(url, max_connections=max_connections, timeout=timeout)
        self._ttl = retention_days * 86400

    async def add(self, day: date, model: str, usd: float, tokens_in: int, tokens_out: int) -> None:
        key = f"kramar:spend:{day.isoformat()}:{model}"
        models = f"kramar:spend:{day.isoformat()}"
        try:
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.hincrbyfloat(key, "usd", usd)
                pipe.hincrby(key, "tokens_in", tokens_in)
                pipe.hincrby(key, "tokens_out", tokens_out)
                pipe.expire(key, self._ttl)
                pipe.sadd(models, model)
                pipe.expire(models, self._ttl)
                await pipe.execute()
        except (RedisError, OSError) as exc:
            log.warning("spend of %s not recorded (redis unavailable): %s", model, exc)

    async def spend(self, day: date) -> list[Spend]:
        prefix = f"kramar:spend:{day.isoformat()}"
        try:
            members = await self._redis.smembers(prefix)
            models = sorted(m.decode() if isinstance(m, bytes) else str(m) for m in members)
            async with self._redis.pipeline(transaction=False) as pipe:
                for model in models:
                    pipe.hgetall(f"{prefix}:{model}")
                replies: list[Any] = await pipe.execute()
        except (RedisError, OSError) as exc:
            log.warning("spend of %s unknown (redis unavailable): %s", day, exc)
            return []
        spends = []
        for model, reply in zip(models, replies, strict=True):
            fields = {_text(k): _text(v) for k, v in reply.items()}
            spends.append(
                Spend(
                    day,
                    model,
                    float(fields.get("usd", 0)),
                    int(fields.get("tokens_in", 0)),
                    int(fields.get("tokens_out", 0)),
                )
            )
        return spends

    async def close(self) -> None:
        await self._redis.aclose()


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
