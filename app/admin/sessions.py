"""Server-side panel sessions: a random token in an HttpOnly cookie, the data in a store.

The store is Redis when KRAMAR_REDIS_URL is set, Postgres otherwise (`app.admin.store`); both
are shared by replicas. The store's key is the token's SHA-256, so a copy of the store holds
no token that could be sent as a cookie. Two clocks end a session: the idle timeout is the
store's expiry, renewed by each request; the absolute one counts from sign-in and is checked
on each load. A sign-in always makes a new token (no fixation); sign-out deletes the entry.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable

    from litestar.stores.base import Store

    from app.admin.users import Principal

TOKEN_BYTES = 32
KEY_PREFIX = "admin-session:"


def store_key(token: str) -> str:
    return KEY_PREFIX + hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class SessionData:
    user_id: int
    epoch: int
    """The account's session epoch at sign-in: a later password or role change ends it."""
    signed_in_at: float
    """Unix time of the sign-in (the absolute timeout counts from here)."""
    address: str | None


class Sessions:
    """Create, load and end sessions in `store`."""

    def __init__(
        self,
        store: Store,
        *,
        idle_seconds: int,
        absolute_seconds: int,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.idle_seconds = idle_seconds
        self.absolute_seconds = absolute_seconds
        self._clock = clock

    async def create(self, user: Principal, address: str | None) -> str:
        """A new session for `user`; returns the token for the cookie."""
        token = secrets.token_urlsafe(TOKEN_BYTES)
        data = {"u": user.id, "e": user.epoch, "t": self._clock(), "a": address}
        await self.store.set(store_key(token), json.dumps(data), expires_in=self.idle_seconds)
        return token

    async def load(self, token: str) -> SessionData | None:
        """The session of `token` if it is neither idle too long nor too old; renews it."""
        if not token or len(token) > 128:
            return None
        key = store_key(token)
        raw = await self.store.get(key, renew_for=self.idle_seconds)
        if raw is None:
            return None
        try:
            data = json.loads(raw)
            session = SessionData(int(data["u"]), int(data["e"]), float(data["t"]), data.get("a"))
        except (ValueError, KeyError, TypeError):
            await self.store.delete(key)
            return None
        if self._clock() - session.signed_in_at >= self.absolute_seconds:
            await self.store.delete(key)
            return None
        return session

    async def end(self, token: str) -> None:
        """Delete the session of `token` (sign-out); nothing if there is none."""
        if token and len(token) <= 128:
            await self.store.delete(store_key(token))
