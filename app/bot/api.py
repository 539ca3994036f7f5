"""`POST /telegram/webhook`: store the update, then answer 200.

aiogram ships only an aiohttp adapter, so this is the small Litestar one. Order matters: the
secret is checked in constant time (403), the update is committed to the inbox, and only then
200. If the database is down the answer is 503, and Telegram retries later: nothing is lost.
A 5xx means that and only that: a body that can never be processed (see `app.bot.updates`) is
answered 200 and recorded in `telegram_rejected` with the reason, because anything but a 2xx
makes Telegram send it again, and hold back the chat's later updates, for a day.
"""

from __future__ import annotations

import logging
import secrets
import time
from typing import Any

from litestar import Request, Response, post
from litestar.datastructures import State
from litestar.status_codes import HTTP_200_OK
from opentelemetry.trace import SpanKind

from app.bot.inbox import Inbox, InboxUnavailableError, update_kind
from app.bot.updates import RejectedUpdateError, parse_body
from app.observability.metrics import TELEGRAM_UPDATES, WEBHOOK_ACK
from app.observability.tracing import inject_context, span

logger = logging.getLogger(__name__)

# Telegram's largest updates (long texts with entities) are a few KiB.
MAX_UPDATE_BYTES = 1024 * 1024
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 (a header name)


RETRY_AFTER = "1"
"""Seconds a 503 asks the sender to wait (Telegram keeps its own schedule; other senders obey)."""


def _answer(status: int, detail: str) -> Response[dict[str, object]]:
    headers = {"Retry-After": RETRY_AFTER} if status == 503 else None
    return Response(
        {"ok": status == HTTP_200_OK, "detail": detail}, status_code=status, headers=headers
    )


async def _reject(inbox: Inbox, rejected: RejectedUpdateError, body: bytes) -> Response[Any]:
    """200 for an update that can never be processed, once it is recorded as rejected."""
    try:
        await inbox.reject(rejected, body)
    except InboxUnavailableError as error:
        logger.error("inbox unavailable (%s): Telegram will retry", error)
        return _answer(503, "inbox unavailable, retry later")
    logger.warning("update %s rejected: %s", rejected.update_id, rejected.reason)
    TELEGRAM_UPDATES.labels("other", "rejected").inc()
    return _answer(HTTP_200_OK, f"rejected: {rejected.reason}")


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
    telegram = state.telegram
    body = await request.body()
    try:
        update = parse_body(body)
    except RejectedUpdateError as rejected:
        return await _reject(telegram.inbox, rejected, body)
    kind = update_kind(update)
    try:
        with span("telegram.webhook", {"telegram.kind": kind}, kind=SpanKind.SERVER):
            stored = await telegram.inbox.put(update, inject_context())
    except RejectedUpdateError as rejected:
        return await _reject(telegram.inbox, rejected, body)
    except InboxUnavailableError as error:
        logger.error("inbox unavailable (%s): Telegram will retry", error)
        return _answer(503, "inbox unavailable, retry later")
    if stored:
        telegram.worker.wake()
    else:
        TELEGRAM_UPDATES.labels(kind, "duplicate").inc()
    WEBHOOK_ACK.observe(time.perf_counter() - started)
    return _answer(HTTP_200_OK, "stored" if stored else "duplicate")
