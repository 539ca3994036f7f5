"""The webhook's fast path ahead of Litestar's router answers exactly as the Litestar route does.

Two apps on one database, as two replicas would be: one as `create_app` builds it (the fast
path in front), one with its router alone. Every request below goes to both; the answers must
be the same, status, body and headers.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import text

from app.bot.api import MAX_UPDATE_BYTES, SECRET_HEADER
from app.bot.fast_path import WebhookFastPath
from app.server import create_app
from tests.bot.conftest import HEADERS, bot_settings

WEBHOOK = "/telegram/webhook"


@pytest.fixture(name="clients")
async def fx_clients(database_url, db, telegram):
    """(the app as served, the same app without its fast path); neither runs workers."""
    settings = bot_settings(database_url, telegram)
    settings.telegram = settings.telegram.model_copy(update={"workers": 0})
    served, routed = create_app(settings), create_app(settings)
    assert isinstance(served.asgi_handler, WebhookFastPath)
    assert isinstance(routed.asgi_handler, WebhookFastPath)
    routed.asgi_handler = routed.asgi_handler.app
    async with AsyncTestClient(served) as fast, AsyncTestClient(routed) as slow:
        yield fast, slow


def answer(response) -> tuple[int, object, dict[str, str]]:
    headers = {k: v for k, v in response.headers.items() if k not in {"date", "server"}}
    try:
        body: object = response.json()
    except ValueError:
        body = response.text
    return response.status_code, body, headers


async def both(clients, method: str, url: str, **kwargs):
    fast, slow = clients
    one = answer(await fast.request(method, url, **kwargs))
    other = answer(await slow.request(method, url, **kwargs))
    assert one == other
    return one


def update(telegram, update_id: int) -> bytes:
    body = telegram.message_update(7, "привіт")
    body["update_id"] = update_id
    return json.dumps(body).encode()


async def stored_ids(db) -> list[int]:
    async with db.connect() as conn:
        rows = await conn.execute(text("SELECT update_id FROM telegram_inbox ORDER BY update_id"))
        return [r.update_id for r in rows]


async def test_an_update_is_stored_then_a_duplicate_on_either_path(clients, db, telegram):
    fast, slow = clients
    for client, update_id in ((fast, 1001), (slow, 1002)):
        body = update(telegram, update_id)
        first = answer(await client.post(WEBHOOK, content=body, headers=HEADERS))
        again = answer(await client.post(WEBHOOK, content=body, headers=HEADERS))
        assert first[:2] == (200, {"ok": True, "detail": "stored"})
        assert again[:2] == (200, {"ok": True, "detail": "duplicate"})
    # The same answers on both paths, headers too.
    repeated = update(telegram, 1001)
    assert (await both(clients, "POST", WEBHOOK, content=repeated, headers=HEADERS))[0] == 200
    assert await stored_ids(db) == [1001, 1002]


@pytest.mark.parametrize(
    "headers",
    [{}, {"X-Telegram-Bot-Api-Secret-Token": "wrong"}, {"x-telegram-bot-api-secret-token": ""}],
)
async def test_a_wrong_or_missing_secret_gets_the_same_403(clients, db, telegram, headers):
    body = update(telegram, 2001)
    status, detail, _ = await both(clients, "POST", WEBHOOK, content=body, headers=headers)
    assert (status, detail) == (403, {"ok": False, "detail": "wrong secret token"})
    assert await stored_ids(db) == []


async def test_a_body_that_is_not_an_update_is_rejected_alike(clients):
    status, detail, _ = await both(clients, "POST", WEBHOOK, content=b"not json", headers=HEADERS)
    assert status == 200
    assert isinstance(detail, dict) and detail["detail"].startswith("rejected: body is not JSON")


async def sent_in_pieces(
    client, pieces: list[bytes], *, whole: bool = True
) -> tuple[int | None, bytes]:
    """POST `pieces` as a body of that many ASGI messages and no Content-Length, as a chunked
    request arrives (the test client sends a body in one piece), in the app's own loop.
    `whole=False`: the client leaves after the last piece, before the body's end."""

    async def call() -> tuple[int | None, bytes]:
        messages = [
            {"type": "http.request", "body": piece, "more_body": not whole or i < len(pieces) - 1}
            for i, piece in enumerate(pieces)
        ]
        sent: list[dict[str, Any]] = []

        async def receive():
            return messages.pop(0) if messages else {"type": "http.disconnect"}

        async def send(message):
            sent.append(message)

        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "POST",
            "scheme": "http",
            "path": WEBHOOK,
            "raw_path": WEBHOOK.encode(),
            "query_string": b"",
            "root_path": "",
            "headers": [(b"x-telegram-bot-api-secret-token", HEADERS[SECRET_HEADER].encode())],
            "client": ("127.0.0.1", 40000),
            "server": ("testserver", 80),
        }
        await client.app(scope, receive, send)
        if not sent:
            return None, b""
        return sent[0]["status"], b"".join(m.get("body", b"") for m in sent[1:])

    return await asyncio.to_thread(client.blocking_portal.call, call)


async def test_a_body_over_the_cap_gets_the_routers_413_declared_or_streamed(clients, db):
    huge = b"{" + b" " * MAX_UPDATE_BYTES + b"}"
    status, _, _ = await both(clients, "POST", WEBHOOK, content=huge, headers=HEADERS)
    assert status == 413
    # Without a Content-Length the cap is found while reading: the router is given the
    # pieces read so far again, and answers as it does.
    pieces = [b" " * (MAX_UPDATE_BYTES // 4)] * 5
    fast, slow = clients
    assert await sent_in_pieces(fast, pieces) == await sent_in_pieces(slow, pieces)
    assert (await sent_in_pieces(fast, pieces))[0] == 413
    assert await stored_ids(db) == []


async def test_what_the_fast_path_leaves_to_the_router_is_answered_by_the_route(
    clients, db, telegram
):
    for client, update_id in zip(clients, (3001, 3002), strict=True):
        body = update(telegram, update_id)
        response = await client.post(f"{WEBHOOK}?source=test", content=body, headers=HEADERS)
        assert response.json() == {"ok": True, "detail": "stored"}
    status, _, headers = await both(clients, "GET", WEBHOOK)
    assert status == 405 and "POST" in headers["allow"]
    assert await stored_ids(db) == [3001, 3002]


async def test_a_body_sent_in_pieces_is_stored_whole(clients, db, telegram):
    body = update(telegram, 4001)
    pieces = [body[start : start + 7] for start in range(0, len(body), 7)]
    fast, _ = clients
    status, answer_body = await sent_in_pieces(fast, pieces)
    assert (status, json.loads(answer_body)) == (200, {"ok": True, "detail": "stored"})
    assert await stored_ids(db) == [4001]


async def test_a_client_that_leaves_mid_body_stores_nothing_on_either_path(clients, db, telegram):
    body = update(telegram, 5001)
    fast, slow = clients
    left = await sent_in_pieces(fast, [body[:10], body[10:20]], whole=False)
    assert left == await sent_in_pieces(slow, [body[:10], body[10:20]], whole=False)
    assert await stored_ids(db) == []
    async with db.connect() as conn:
        assert await conn.scalar(text("SELECT count(*) FROM telegram_rejected")) == 0
