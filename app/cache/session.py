"""Per-chat conversation sessions under `session:{chat_id}`, forgotten after inactivity.

A session holds only conversational context (recent turns, the product in focus, the step of a
form): facts such as orders and hand-offs live in Postgres. Two writers may touch one chat's
session at once (the customer's turn, and a manager's reply relayed from the manager chat's
queue), so a save is a compare-and-set: when someone else saved since we loaded, their turns are
merged into ours and we try again. Writers other than the customer's own turn only append turns
(`SessionCache.append`), so the rest of the session is the turn's to decide.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError

from app.observability.metrics import CACHE_REQUESTS

if TYPE_CHECKING:
    from app.cache.backend import CacheBackend

log = logging.getLogger(__name__)

MAX_TURNS = 20
"""Turns kept per session: enough context for the agent, small enough to load on every message."""
SAVE_ATTEMPTS = 10
"""Compare-and-set rounds before a save gives up merging and writes over the others. A save
fails only when another one succeeded meanwhile, so up to this many writers at once lose
nothing (a chat has two: its own turn and a manager's reply)."""


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
    choices: list[tuple[str, str]] = Field(default_factory=list)
    """(label, callback data) of the buttons the bot showed last: a typed label presses one."""
    turns: list[Turn] = Field(default_factory=list)
    """The latest messages, oldest first."""
    updated_at: datetime = Field(default_factory=_now)
    _stored: bytes | None = PrivateAttr(default=None)
    """The bytes this session was loaded from (or last saved as): what a save expects to find."""

    def __eq__(self, other: object) -> bool:
        # What a session was stored as is bookkeeping, not part of what it says.
        if not isinstance(other, ChatSession):
            return NotImplemented
        return self.model_dump() == other.model_dump()

    def add_turn(self, role: Literal["customer", "bot"], text: str) -> Turn:
        """Append a message to the conversation."""
        turn = Turn(role=role, text=text)
        self.turns.append(turn)
        return turn


def merge_turns(theirs: list[Turn], ours: list[Turn]) -> list[Turn]:
    """Both writers' turns, each once, oldest first."""
    seen: dict[tuple[str, str, datetime], Turn] = {}
    for turn in [*theirs, *ours]:
        seen.setdefault((turn.role, turn.text, turn.at), turn)
    return sorted(seen.values(), key=lambda turn: turn.at)


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
        session = self._decode(chat_id, raw)
        CACHE_REQUESTS.labels("session", "miss" if session is None else "hit").inc()
        if session is None:
            session = ChatSession(chat_id=chat_id)
        session._stored = raw
        return session

    @staticmethod
    def _decode(chat_id: int, raw: bytes | None) -> ChatSession | None:
        if raw is None:
            return None
        try:
            return ChatSession.model_validate_json(raw)
        except ValidationError:
            log.warning("session of chat %s does not decode; starting a new one", chat_id)
            return None

    async def save(self, session: ChatSession) -> None:
        """Store the session, keeping its last `MAX_TURNS` turns and stamping `updated_at`.

        If another writer saved this chat's session since it was loaded, their turns are merged
        into ours (by time) and the save is tried again; the rest of the session is ours.
        """
        key = session_key(session.chat_id)
        for _ in range(SAVE_ATTEMPTS):
            session.turns = session.turns[-MAX_TURNS:]
            session.updated_at = _now()
            raw = session.model_dump_json().encode()
            if await self._backend.compare_and_set(key, session._stored, raw, self._ttl):
                session._stored = raw
                return
            current = await self._backend.get(key)
            theirs = self._decode(session.chat_id, current)
            if theirs is not None:
                session.turns = merge_turns(theirs.turns, session.turns)
            session._stored = current
        log.warning("session of chat %s kept changing while saving; writing over", session.chat_id)
        session._stored = session.model_dump_json().encode()
        await self._backend.set(key, session._stored, self._ttl)

    async def append(self, chat_id: int, role: Literal["customer", "bot"], text: str) -> None:
        """Add one turn to the chat's session without changing anything else in it (for
        writers other than the chat's own turn, e.g. a manager's relayed reply)."""
        session = await self.load(chat_id)
        session.add_turn(role, text)
        await self.save(session)

    async def clear(self, chat_id: int) -> None:
        """Forget the chat's session (the next `load` starts afresh)."""
        await self._backend.delete(session_key(chat_id))
