"""`POST /telegram/webhook`: store the update, then answer 200.

aiogram ships only an aiohttp adapter, so this is our own. Order matters: the secret is checked
in constant time (403), the update is committed to the inbox, and only then 200. If the database
is down the answer is 503, and Telegram retries later: nothing is lost. A 5xx means that and
only that: a body that can never be processed (see `app.bot.updates`) is answered 200 and
recorded in `telegram_rejected` with the reason, because anything but a 2xx makes Telegram send
it again, and hold back the chat's later updates, for a day.

What the webhook does is `acknowledge`; two front doors call it. `app.bot.fast_path` answers
the plain `POST /telegram/webhook` ahead of Litestar's router (the hot path of a sale-day
spike); the Litestar route below answers what that layer leaves to the router (a query string,
a body over the cap or cut short) and documents the operation in the OpenAPI schema.
"""

from __future__ import annotations

import logging
import secrets
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import msgspec
from litestar import Request, Response, post
from litestar.datastructures import State
from litestar.status_codes import HTTP_200_OK
from opentelemetry.trace import SpanKind

from app.bot.inbox import Inbox, InboxUnavailableError, update_kind
from app.bot.updates import RejectedUpdateError, parse_body
from app.observability.metrics import TELEGRAM_UPDATES, WEBHOOK_ACK
from app.observability.tracing import inject_context, span

if TYPE_CHECKING:
    from app.bot.running import TelegramBot

logger = logging.getLogger(__name__)

WEBHOOK_PATH = "/telegram/webhook"
"""Where Telegram posts updates (the public URL's path, registered with `setWebhook`)."""
# Telegram's largest updates (long texts with entities) are a few KiB.
MAX_UPDATE_BYTES = 1024 * 1024
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 (a header name)

RETRY_AFTER = "1"
"""Seconds a 503 asks the sender to wait (Telegram keeps its own schedule; other senders obey)."""


@dataclass(frozen=True, slots=True)
class Ack:
    """The webhook's answer to one request: its status, what it says, and its JSON body."""

    status: int
    detail: str

    @property
    def payload(self) -> dict[str, object]:
        return {"ok": self.status == HTTP_200_OK, "detail": self.detail}

    @property
    def body(self) -> bytes:
        return msgspec.json.encode(self.payload)

    @property
    def headers(self) -> dict[str, str]:
        return {"Retry-After": RETRY_AFTER} if self.status == 503 else {}


WRONG_SECRET = Ack(403, "wrong secret token")


def secret_matches(given: str, expected: str) -> bool:
    """Whether the request's secret header is the webhook's secret (in constant time)."""
    return secrets.compare_digest(given.encode(), expected.encode())


async def _reject(inbox: Inbox, rejected: RejectedUpdateError, body: bytes) -> Ack:
    """200 for an update that can never be processed, once it is recorded as rejected."""
    try:
        await inbox.reject(rejected, body)
    except InboxUnavailableError as error:
        logger.error("inbox unavailable (%s): Telegram will retry", error)
        return Ack(503, "inbox unavailable, retry later")
    logger.warning("update %s rejected: %s", rejected.update_id, rejected.reason)
    TELEGRAM_UPDATES.labels("other", "rejected").inc()
    return Ack(HTTP_200_OK, f"rejected: {rejected.reason}")


async def acknowledge(telegram: TelegramBot, body: bytes, started: float) -> Ack:
    """Store the update in `body` (its secret already checked) and say so; `started`: when the
    request came in (`time.perf_counter()`), for the acknowledgement's histogram."""
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
        return Ack(503, "inbox unavailable, retry later")
    if stored:
        telegram.worker.wake()
    else:
        TELEGRAM_UPDATES.labels(kind, "duplicate").inc()
    WEBHOOK_ACK.observe(time.perf_counter() - started)
    return Ack(HTTP_200_OK, "stored" if stored else "duplicate")


def wrong_secret(client: object) -> Ack:
    logger.warning("webhook call with a wrong secret token from %s", client)
    return WRONG_SECRET


@post(
    WEBHOOK_PATH,
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
    if not secret_matches(request.headers.get(SECRET_HEADER, ""), state.webhook_secret):
        ack = wrong_secret(request.client)
    else:
        ack = await acknowledge(state.telegram, await request.body(), started)
    return Response(ack.payload, status_code=ack.status, headers=ack.headers or None)
