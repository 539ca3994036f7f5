"""The webhook's front door ahead of Litestar's router: a plain ASGI layer for the hot path.

Under a sale-day spike a web replica takes a thousand updates a second on one core, and each
costs what runs per request, not just what the webhook does: Litestar's route machinery
(routing, guards, which copy the route handler for every call, the signature model, the
response object) was ~18 % of the CPU an update took (725 against 597 µs with this layer, side
by side at 1,000 updates/s; `benchmarks/bench_telegram.py` has the latency rows).

This layer answers `POST /telegram/webhook` itself with the one implementation of what the
webhook does (`app.bot.api.acknowledge`); everything else, and any request of that route it
does not take whole (a query string, a body over the cap or cut short), goes to the router
untouched (a body already read is replayed), so errors keep Litestar's answers. The Litestar
route stays for those and for the OpenAPI schema. It sits inside `Litestar.__call__`, so the
app's `before_send` hooks see its answers as they see every other.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from typing import TYPE_CHECKING, Any

import msgspec

from app.bot.api import (
    MAX_UPDATE_BYTES,
    SECRET_HEADER,
    WEBHOOK_PATH,
    acknowledge,
    secret_matches,
    wrong_secret,
)
from app.errors import INTERNAL_ERROR

if TYPE_CHECKING:
    from litestar.datastructures import State
    from litestar.types import ASGIApp, Receive, Scope, Send

logger = logging.getLogger(__name__)

_SECRET = SECRET_HEADER.lower().encode()
_JSON = (b"content-type", b"application/json")
_INTERNAL = msgspec.json.encode({"status_code": 500, "detail": INTERNAL_ERROR})


class WebhookFastPath:
    """An ASGI app: `POST /telegram/webhook` answered here, every other request by `app`.

    `state`: the Litestar app's state, which holds the webhook's secret and, once the app has
    started, the running bot.
    """

    def __init__(self, app: ASGIApp, state: State) -> None:
        self.app = app
        self._state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        http: Any = scope  # read as a plain dict: the checks below say which kind it is
        if (
            http["type"] != "http"
            or http["path"] != WEBHOOK_PATH
            or http["method"] != "POST"
            or http["query_string"]
        ):
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        given = b""
        declared: bytes | None = None
        for name, value in http["headers"]:
            if name == _SECRET:
                given = value
            elif name == b"content-length":
                declared = value
        if not secret_matches(given.decode("latin-1"), self._state.webhook_secret):
            ack = wrong_secret(http.get("client"))
        else:
            body, read = await _body(receive, declared)
            if body is None:  # over the cap or cut short: answered as the router always has
                await self.app(scope, _replay(read, receive), send)
                return
            try:
                ack = await acknowledge(self._state.telegram, body, started)
            except Exception:
                logger.exception("unhandled error in POST %s", WEBHOOK_PATH)
                await _send(send, 500, _INTERNAL, {})
                return
        await _send(send, ack.status, ack.body, ack.headers)


async def _body(receive: Receive, declared: bytes | None) -> tuple[bytes | None, list[Any]]:
    """The whole request body, and the messages read for it; None for the body when it is
    larger than `MAX_UPDATE_BYTES` (declared or sent) or the client left before its end."""
    if declared is not None and (not declared.isdigit() or int(declared) > MAX_UPDATE_BYTES):
        return None, []
    chunks: list[bytes] = []
    read: list[Any] = []
    size = 0
    while True:
        message = await receive()
        read.append(message)
        if message["type"] != "http.request":
            return None, read
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_UPDATE_BYTES:
            return None, read
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks), read


def _replay(read: list[Any], receive: Receive) -> Receive:
    """A `receive` that gives the messages already read again, then the connection's next."""
    pending = deque(read)

    async def replayed() -> Any:
        return pending.popleft() if pending else await receive()

    return replayed


async def _send(send: Send, status: int, body: bytes, headers: dict[str, str]) -> None:
    raw = [_JSON, (b"content-length", str(len(body)).encode())]
    raw += [(name.lower().encode(), value.encode()) for name, value in headers.items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body, "more_body": False})
