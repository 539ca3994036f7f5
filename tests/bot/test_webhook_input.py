"""The webhook under bad input: 5xx only for "try again later"; the rest 200 and recorded."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from aiogram.types import Update
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from litestar.testing import AsyncTestClient
from sqlalchemy import text

from app.bot.updates import MAX_DEPTH
from app.server import create_app
from tests.bot.conftest import HEADERS, bot_settings, wait_for
from tests.fixtures_app import run_in


@pytest.fixture(name="ack_client")
async def fx_ack_client(database_url, db, telegram):
    """The webhook of a process that only acknowledges (no workers): what is stored stays."""
    settings = bot_settings(database_url, telegram)
    settings.telegram = settings.telegram.model_copy(update={"workers": 0})
    async with AsyncTestClient(create_app(settings)) as client:
        yield client


async def post(client, body: bytes | dict[str, Any]):
    if isinstance(body, dict):
        body = json.dumps(body).encode()
    return await client.post("/telegram/webhook", content=body, headers=HEADERS)


async def rejected(db) -> list[tuple[str | None, str]]:
    async with db.connect() as conn:
        rows = await conn.execute(
            text("SELECT update_id, reason FROM telegram_rejected ORDER BY id")
        )
        return [(r.update_id, r.reason) for r in rows]


async def stored(db) -> dict[int, dict[str, Any]]:
    async with db.connect() as conn:
        rows = await conn.execute(text("SELECT update_id, payload FROM telegram_inbox"))
        return {r.update_id: r.payload for r in rows}


def deep(levels: int) -> str:
    return "[" * levels + "]" * levels


async def test_bodies_that_are_not_updates_are_answered_200_and_recorded(ack_client, db):
    bodies = [b"not json", b"[1, 2]", b'{"update_id": "x"}', b'{"update_id": true}', b"\xff\xfe"]
    for body in bodies:
        response = await post(ack_client, body)
        assert response.status_code == 200, body
        assert response.json()["detail"].startswith("rejected")
    assert len(await rejected(db)) == len(bodies)
    assert await stored(db) == {}


async def test_a_body_nested_ten_thousand_deep_is_rejected_not_a_server_error(ack_client, db):
    body = ('{"update_id": 5, "message": ' + deep(10_000) + "}").encode()
    response = await post(ack_client, body)
    assert response.status_code == 200
    [(update_id, reason)] = await rejected(db)
    assert update_id == "5" and "nested deeper" in reason
    shallow = {"update_id": 6, "message": json.loads(deep(MAX_DEPTH + 5))}
    assert (await post(ack_client, shallow)).status_code == 200
    assert len(await rejected(db)) == 2


@pytest.mark.parametrize(
    "chat",
    [
        {"type": "private"},
        {"id": "abc", "type": "private"},
        {"id": None, "type": "private"},
        {"id": 2**70, "type": "private"},
        {"id": 1.5, "type": "private"},
        "not a chat",
    ],
)
async def test_a_chat_without_a_usable_id_is_rejected(ack_client, db, telegram, chat):
    update = telegram.message_update(7, "привіт")
    update["message"]["chat"] = chat
    response = await post(ack_client, update)
    assert response.status_code == 200
    [(update_id, _reason)] = await rejected(db)
    assert update_id == str(update["update_id"])


@pytest.mark.parametrize("update_id", [2**63, 2**64 + 1, 10**30, -1])
async def test_an_update_id_beyond_64_bits_is_rejected_not_retried(ack_client, db, update_id):
    body = json.dumps({"update_id": update_id, "message": {}}).encode()
    response = await post(ack_client, body)
    assert response.status_code == 200
    assert [u for u, _ in await rejected(db)] == [str(update_id)]


async def test_nul_characters_are_removed_before_storing_and_the_update_is_answered(
    bot_client, db, telegram
):
    update = telegram.message_update(7, "/he\x00lp")
    update["message"]["from"]["first_name"] = "Ол\x00ена\ud800"
    response = await post(bot_client, json.dumps(update).encode())
    assert response.status_code == 200 and response.json()["detail"] == "stored"
    [reply] = await wait_for(telegram, 1)
    assert "Що я вмію" in reply.visible  # /help, with the NUL gone
    [payload] = (await stored(db)).values()
    assert payload["message"]["text"] == "/help"
    assert payload["message"]["from"]["first_name"] == "Олена\ufffd"


# --- property-based: whatever arrives, the answer is 200 (stored or rejected), never 5xx ---

json_leaf = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**80), max_value=2**80),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(alphabet=st.characters(codec=None), max_size=12),
    st.sampled_from(["\x00", "a\x00b", "\ud800", "\udfff\ud800", "%0aCRITICAL fake"]),
)
json_value = st.recursive(
    json_leaf,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=12,
)
FIELDS = ["update_id", "message", "chat", "id", "type", "from", "text", "date", "message_id"]


def mutations():
    """(path of keys into an update, new value or None to delete it)."""
    paths = st.lists(st.sampled_from(FIELDS), min_size=1, max_size=3)
    return st.lists(st.tuples(paths, st.one_of(st.none(), json_value)), max_size=3)


def mutate(update: dict[str, Any], changes) -> Any:
    for path, value in changes:
        node: Any = update
        for key in path[:-1]:
            if not isinstance(node, dict) or not isinstance(node.get(key), dict):
                break
            node = node[key]
        else:
            if isinstance(node, dict):
                if value is None:
                    node.pop(path[-1], None)
                else:
                    node[path[-1]] = value
    return update


async def test_any_malformed_update_is_stored_clean_or_rejected_never_a_5xx(
    ack_client, db, telegram
):
    loop = asyncio.get_running_loop()
    counter = iter(range(10_000, 10**9))

    @settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
    @given(changes=mutations(), text_value=json_value, raw=st.booleans())
    def check(changes, text_value, raw):
        update = telegram.message_update(7, "привіт")
        update["update_id"] = next(counter)
        update["message"]["text"] = text_value
        update = mutate(update, changes)
        body = json.dumps(update).encode()
        if raw:  # cut short: not JSON any more
            body = body[: len(body) // 2]
        before = run_in(loop, counts(db))
        response = run_in(loop, post(ack_client, body))
        assert response.status_code == 200, (response.status_code, response.text, body)
        after = run_in(loop, counts(db))
        # Exactly one record more, or a duplicate of an update stored before.
        assert sum(after) - sum(before) == (0 if response.json()["detail"] == "duplicate" else 1)

    await asyncio.to_thread(check)
    for update_id, payload in (await stored(db)).items():
        text_of = json.dumps(payload, ensure_ascii=False)
        assert "\x00" not in text_of, update_id
        Update.model_validate(payload)  # what was stored, the worker can read


async def counts(db) -> tuple[int, int]:
    async with db.connect() as conn:
        inbox = await conn.scalar(text("SELECT count(*) FROM telegram_inbox"))
        rejected = await conn.scalar(text("SELECT count(*) FROM telegram_rejected"))
    return int(inbox or 0), int(rejected or 0)


async def test_text_spelled_in_raw_bytes_is_cleaned_too(ack_client, db, telegram):
    """What the escapes' check cannot see must still be cleaned: surrogates written as UTF-8
    bytes (json.loads lets them through), a body in UTF-16 (NULs in its bytes)."""
    update = telegram.message_update(7, "SURROGATE")
    update["update_id"] = 801
    raw = json.dumps(update, ensure_ascii=False).encode()
    body = raw.replace(b"SURROGATE", b"a\xed\xa0\x80b")  # U+D800 as UTF-8 would spell it
    assert (await post(ack_client, body)).json()["detail"] == "stored"
    update["update_id"] = 802
    update["message"]["text"] = "при\x00віт"
    utf16 = json.dumps(update, ensure_ascii=False).encode("utf-16-le")
    assert (await post(ack_client, utf16)).json()["detail"] == "stored"
    texts = {i: p["message"]["text"] for i, p in (await stored(db)).items()}
    assert texts == {801: "a\ufffdb", 802: "привіт"}


async def test_a_clean_body_nested_too_deep_is_still_rejected(ack_client, db):
    body = json.dumps({"update_id": 9, "message": json.loads(deep(MAX_DEPTH + 1))}).encode()
    assert (await post(ack_client, body)).json()["detail"].startswith("rejected: nested")
