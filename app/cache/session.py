"""Per-chat conversation sessions under `session:{chat_id}`, forgotten after inactivity."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from app.observability.metrics import CACHE_REQUESTS

if TYPE_CHECKING:
    from app.cache.backend import CacheBackend

log = logging.getLogger(__name__)

MAX_TURNS = 20
"""Turns kept per session: enough context for the agent, small enough to load on every message."""


def _now() -> datetime:
    return datetime.now(UTC)


class Turn(BaseModel):
    """One message of the conversation."""

    role: Literal["customer", "bot"]
    text: str
    at: datetime = Field(default_factory=_now)


class ChatSession(BaseModel):
    """What the bot remembers about one chat between messages."""

    # Fields added or removed by a later version must not make stored sessions unreadable.
    model_config = ConfigDict(extra="ignore")

    chat_id: int
    stage: str = "greeting"
    """Where the conversation is, e.g. greeting, browsing, ordering."""
    selected_skus: list[str] = Field(default_factory=list)
    """Products the customer is looking at or has chosen, in order."""
    context: dict[str, str] = Field(default_factory=dict)
    """Small facts gathered so far, e.g. {"size": "M"}."""
    turns: list[Turn] = Field(default_factory=list)
    """The latest messages, oldest first."""
    updated_at: datetime = Field(default_factory=_now)

    def add_turn(self, role: Literal["customer", "bot"], text: str) -> Turn:
        """Append a message to the conversation."""
        turn = Turn(role=role, text=text)
        self.turns.append(turn)
        return turn


def session_key(chat_id: int) -> str:
    """The cache key of one chat's session."""
    return f"session:{chat_id}"


class SessionCache:
    """Loads and saves `ChatSession`s; a session lives `ttl` seconds after its last use."""

    def __init__(self, backend: CacheBackend, ttl: float) -> None:
        self._backend = backend
        self._ttl = ttl

    async def load(self, chat_id: int) -> ChatSession:
        """The chat's session (its TTL restarts), or a fresh one when there is none."""
        raw = await self._backend.get_and_touch(session_key(chat_id), self._ttl)
        if raw is not None:
            try:
                session = ChatSession.model_validate_json(raw)
            except ValidationError:
                log.warning("session of chat %s does not decode; starting a new one", chat_id)
            else:
                CACHE_REQUESTS.labels("session", "hit").inc()
                return session
        CACHE_REQUESTS.labels("session", "miss").inc()
        return ChatSession(chat_id=chat_id)

    async def save(self, session: ChatSession) -> None:
        """Store the session, keeping its last `MAX_TURNS` turns and stamping `updated_at`."""
        session.turns = session.turns[-MAX_TURNS:]
        session.updated_at = _now()
        await self._backend.set(
            session_key(session.chat_id), session.model_dump_json().encode(), self._ttl
        )

    async def clear(self, chat_id: int) -> None:
        """Forget the chat's session (the next `load` starts afresh)."""
        await self._backend.delete(session_key(chat_id))
