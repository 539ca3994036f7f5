"""Chat sessions on both backends: fresh, saved, trimmed, sliding expiry, cleared, restarts."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from prometheus_client import REGISTRY

from app.cache.redis import RedisBackend
from app.cache.session import MAX_TURNS, ChatSession, SessionCache, session_key

if TYPE_CHECKING:
    from app.cache.backend import CacheBackend


def session_requests(result: str) -> float:
    labels = {"cache": "session", "result": result}
    return REGISTRY.get_sample_value("cache_requests_total", labels) or 0.0


def a_conversation(chat_id: int) -> ChatSession:
    session = ChatSession(chat_id=chat_id, stage="browsing")
    session.selected_skus.append("KR-KS-001")
    session.context["size"] = "M"
    session.add_turn("customer", "Чи є цей светр у розмірі M?")
    session.add_turn("bot", "Так, є 2 штуки.")
    return session


async def test_unknown_chat_gets_a_fresh_session(backend: CacheBackend) -> None:
    misses = session_requests("miss")

    session = await SessionCache(backend, ttl=60).load(42)

    assert session.chat_id == 42
    assert (session.stage, session.selected_skus, session.context, session.turns) == (
        "greeting",
        [],
        {},
        [],
    )
    assert session_requests("miss") - misses == 1


async def test_saved_session_loads_back_equal(backend: CacheBackend) -> None:
    cache = SessionCache(backend, ttl=60)
    session = a_conversation(42)
    hits = session_requests("hit")

    await cache.save(session)
    loaded = await cache.load(42)

    assert loaded == session
    assert loaded.turns[0].role == "customer"
    assert loaded.turns[0].at.tzinfo is not None
    assert session_requests("hit") - hits == 1


async def test_sessions_of_different_chats_are_separate(backend: CacheBackend) -> None:
    cache = SessionCache(backend, ttl=60)
    await cache.save(a_conversation(1))

    assert (await cache.load(2)).turns == []


async def test_save_keeps_only_the_last_turns(backend: CacheBackend) -> None:
    cache = SessionCache(backend, ttl=60)
    session = ChatSession(chat_id=42)
    for n in range(MAX_TURNS + 5):
        session.add_turn("customer", f"message {n}")

    await cache.save(session)
    loaded = await cache.load(42)

    assert [t.text for t in loaded.turns] == [f"message {n}" for n in range(5, MAX_TURNS + 5)]


async def test_each_load_restarts_the_session_lifetime(backend: CacheBackend) -> None:
    cache = SessionCache(backend, ttl=0.25)
    await cache.save(a_conversation(42))
    await asyncio.sleep(0.15)
    assert (await cache.load(42)).turns != []
    await asyncio.sleep(0.15)  # 0.3 s after save: alive only because the load touched it

    assert (await cache.load(42)).turns != []
    await asyncio.sleep(0.3)
    assert (await cache.load(42)).turns == []


async def test_clear_forgets_the_session(backend: CacheBackend) -> None:
    cache = SessionCache(backend, ttl=60)
    await cache.save(a_conversation(42))

    await cache.clear(42)

    assert (await cache.load(42)).stage == "greeting"


async def test_undecodable_session_starts_afresh(backend: CacheBackend) -> None:
    await backend.set(session_key(42), b'{"chat_id": "not a number"}', ttl=60)

    session = await SessionCache(backend, ttl=60).load(42)

    assert session == ChatSession(chat_id=42, updated_at=session.updated_at)


async def test_session_survives_an_app_restart(redis_url: str) -> None:
    saved = a_conversation(42)
    before = RedisBackend(redis_url)
    await SessionCache(before, ttl=60).save(saved)
    await before.close()

    after = RedisBackend(redis_url)
    loaded = await SessionCache(after, ttl=60).load(42)
    await after.close()

    assert loaded == saved


async def test_two_writers_of_one_chat_keep_each_others_turns(backend: CacheBackend) -> None:
    """The customer's turn and a manager's relayed reply (another inbox queue) save the same
    chat's session at once: neither overwrites the other."""
    cache = SessionCache(backend, ttl=60)
    await cache.save(a_conversation(42))
    customer_turn = await cache.load(42)  # a long turn: loaded, then a model call...
    customer_turn.add_turn("customer", "А є в бежевому?")

    await cache.append(42, "bot", "Менеджер: так, є, відкладаю")  # ...meanwhile, the manager
    customer_turn.add_turn("bot", "Так, бежевий є.")
    customer_turn.stage = "variant"
    await cache.save(customer_turn)

    saved = await cache.load(42)
    assert [t.text for t in saved.turns] == [
        "Чи є цей светр у розмірі M?",
        "Так, є 2 штуки.",
        "А є в бежевому?",
        "Менеджер: так, є, відкладаю",
        "Так, бежевий є.",
    ]
    assert saved.stage == "variant"


async def test_many_concurrent_appends_lose_no_turn(backend: CacheBackend) -> None:
    cache = SessionCache(backend, ttl=60)
    await asyncio.gather(*(cache.append(42, "bot", f"turn {n}") for n in range(8)))
    saved = await cache.load(42)
    assert sorted(t.text for t in saved.turns) == sorted(f"turn {n}" for n in range(8))


async def test_a_session_that_expired_meanwhile_is_saved_afresh(backend: CacheBackend) -> None:
    cache = SessionCache(backend, ttl=60)
    await cache.save(a_conversation(42))
    session = await cache.load(42)
    await cache.clear(42)  # the TTL ran out, or Redis was flushed
    session.add_turn("customer", "ще тут?")
    await cache.save(session)
    assert (await cache.load(42)).turns[-1].text == "ще тут?"
