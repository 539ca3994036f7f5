"""`POST /telegram/webhook`: store the update, then answer 200.

aiogram ships only an aiohttp adapter, so this is the small Litestar one. Order matters: the
secret is checked in constant time (403), the body must be one JSON update (400, nothing
stored), the update is committed to the inbox, and only then 200. If the database is down the
answer is 503, and Telegram retries later: nothing is lost.
"""

from __future__ import annotations

import json
import logging
import secrets
import time
from typing import Any

from litestar import Request, Response, post
from litestar.datastructures import State
from litestar.status_codes import HTTP_200_OK
from opentelemetry.trace import SpanKind

from app.bot.inbox import InboxUnavailableError, update_kind
from app.observability.metrics import TELEGRAM_UPDATES, WEBHOOK_ACK
from app.observability.tracing import inject_context, span

logger = logging.getLogger(__name__)

# Telegram's largest updates (long texts with entities) are a few KiB.
MAX_UPDATE_BYTES = 1024 * 1024
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 (a header name)


def _answer(status: int, detail: str) -> Response[dict[str, object]]:
    return Response({"ok": status == HTTP_200_OK, "detail": detail}, status_code=status)


@post(
    "/telegram/webhook",
    operation_id="ReceiveTelegramUpdate",
    summary="Telegram webhook (secret token required)",
    tags=["telegram"],
    request_max_body_size=MAX_UPDATE_BYTES,
    status_code=HTTP_200_OK,
)
async def receive_update(
    request: Request[Any, Any, Any], state: State
) -> Response[dict[str, object]]:
    started = time.perf_counter()
    expected: str = state.webhook_secret
    given = request.headers.get(SECRET_HEADER, "")
    if not secrets.compare_digest(given.encode(), expected.encode()):
        logger.warning("webhook call with a wrong secret token from %s", request.client)
        return _answer(403, "wrong secret token")
    try:
        update = json.loads(await request.body())
    except (ValueError, UnicodeDecodeError):
        return _answer(400, "body is not JSON")
    if not isinstance(update, dict) or not isinstance(update.get("update_id"), int):
        return _answer(400, "not a Telegram update: an object with an integer update_id")
    telegram = state.telegram
    kind = update_kind(update)
    try:
        with span("telegram.webhook", {"telegram.kind": kind}, kind=SpanKind.SERVER):
            stored = await telegram.inbox.put(update, inject_context())
    except InboxUnavailableError as error:
        logger.error("inbox unavailable (%s): Telegram will retry", error)
        return _answer(503, "inbox unavailable, retry later")
    if stored:
        telegram.worker.wake()
    else:
        TELEGRAM_UPDATES.labels(kind, "duplicate").inc()
    WEBHOOK_ACK.observe(time.perf_counter() - started)
    return _answer(HTTP_200_OK, "stored" if stored else "duplicate")
