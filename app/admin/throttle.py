"""Sign-in throttling per account and per address, in Postgres so replicas share it.

A window opens at the first failure of a key and lasts `window`; a key with `limit` failures in
its open window is refused until the window ends. A success clears the account's count (the
address keeps its own: one valid account must not launder guesses at others). Attempts are
refused before the password is checked, so a locked account costs no argon2 work.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert

from app.admin.models import SignInThrottle

if TYPE_CHECKING:
    from collections.abc import Callable

    from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Limits:
    account_failures: int
    address_failures: int
    window: timedelta


def account_key(username: str) -> str:
    # As typed, folded: the key must not depend on whether the name is valid or exists.
    return "account:" + username.strip().casefold()[:150]


def address_key(address: str | None) -> str:
    return "address:" + (address or "unknown")[:150]


class Throttle:
    """`wait(username, address)`, then `failed(...)` or `succeeded(...)`."""

    def __init__(
        self,
        session_factory: async_sessionmaker[AsyncSession],
        limits: Limits,
        *,
        clock: Callable[[], datetime] = _utcnow,
    ) -> None:
        self._session_factory = session_factory
        self.limits = limits
        self._clock = clock

    def _keys(self, username: str, address: str | None) -> dict[str, int]:
        return {
            account_key(username): self.limits.account_failures,
            address_key(address): self.limits.address_failures,
        }

    async def wait(self, username: str, address: str | None) -> int:
        """Seconds until this sign-in may be tried (0: now)."""
        keys = self._keys(username, address)
        now = self._clock()
        async with self._session_factory() as session:
            rows = await session.scalars(
                select(SignInThrottle).where(SignInThrottle.key.in_(list(keys)))
            )
            waits = [
                (row.window_started_at + self.limits.window - now).total_seconds()
                for row in rows
                if row.failures >= keys[row.key]
                and row.window_started_at + self.limits.window > now
            ]
        return max((math.ceil(w) for w in waits), default=0)

    async def failed(self, username: str, address: str | None) -> None:
        """Count a failed sign-in for the account and the address."""
        now = self._clock()
        async with self._session_factory() as session, session.begin():
            for key in sorted(self._keys(username, address)):  # one lock order for every caller
                await session.execute(
                    insert(SignInThrottle)
                    .values(key=key, failures=0, window_started_at=now)
                    .on_conflict_do_nothing()
                )
                row = await session.get(
                    SignInThrottle, key, with_for_update=True, populate_existing=True
                )
                assert row is not None
                if row.window_started_at + self.limits.window <= now:
                    row.failures, row.window_started_at = 0, now
                row.failures += 1

    async def succeeded(self, username: str) -> None:
        async with self._session_factory() as session, session.begin():
            await session.execute(
                delete(SignInThrottle).where(SignInThrottle.key == account_key(username))
            )
