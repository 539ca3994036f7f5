"""How `kramar serve` runs uvicorn: bounds on how long and how much a client may send.

uvicorn bounds the idle time between two requests (keep-alive) and nothing else a client does:
a connection that opens and sends nothing, or sends its headers or its body a byte at a time,
is held for as long as the client likes (400 such connections were never closed). Here every
request gets a deadline, from the connection (for the first request) or from its first byte
(for the next ones on a keep-alive connection) to its last byte: past it the client is answered
408, if nothing was answered yet, and the connection is closed. The request head (request line
and headers) is capped in bytes as well (431). Once a request is in, the deadline is off: the
time the app takes to answer is not the client's. Open connections per process are capped
(uvicorn's `limit_concurrency`): past the cap new requests get 503 at once instead of a queue.

Behind an ingress these are the second line; the ingress' own limits (charts/kramar/README.md,
"Ingress limits") stop slow clients before they reach a pod.

Two choices keep the slowest answers close to the typical ones under a burst (200 connections
all waiting at once, `benchmarks/bench_catalog_pages.py`):
- asyncio's own event loop, not uvloop: under that load uvloop left a few connections unserved
  for 1-3 s in some runs (p99 0.9-1.9 s for a constant-JSON Litestar handler at ~8,000 req/s,
  where asyncio's loop gave 46-57 ms in every run), for ~10 % more requests per second;
- the objects of the started app (modules, settings, the catalog's models, the embedder) are
  moved out of the garbage collector's sight once startup is done (`gc.freeze`): a full
  collection then looks only at what requests made since, instead of pausing every request for
  ~180 ms while it walks ~250,000 long-lived objects.

asyncio's loop asks 256 KiB of every socket read and shrinks the bytes to what came. Once glibc
has served one such buffer from its heap (its mmap threshold rises after the first is freed),
each read splits a heap chunk, and the small long-lived objects made meanwhile pin the pieces:
the worker's memory grew by ~0.8 MiB a minute under steady traffic (`make soak`; uvloop, which
reads into one fixed buffer, stayed flat). Reads of `READ_SIZE` stay flat as well (measured;
so did asyncio's own reads with glibc's mmap threshold fixed).
"""

from __future__ import annotations

import gc
import logging
from typing import TYPE_CHECKING, Any

from app.observability.metrics import HTTP_CLIENTS_CUT

if TYPE_CHECKING:
    import asyncio

    from litestar import Litestar
    from litestar.types import ASGIApp, Receive, Send

    from app.config import HttpSettings

logger = logging.getLogger(__name__)

READ_SIZE = 16 * 1024
"""Bytes asked of each socket read by asyncio's transports (theirs: 256 KiB; see above)."""


def _answer(status: bytes, detail: bytes) -> bytes:
    body = b'{"status_code": ' + status.split(b" ")[0] + b', "detail": "' + detail + b'"}'
    return (
        b"HTTP/1.1 " + status + b"\r\ncontent-type: application/json\r\n"
        b"connection: close\r\ncontent-length: " + str(len(body)).encode() + b"\r\n\r\n" + body
    )


TIMED_OUT = _answer(b"408 Request Timeout", b"the request was not sent in time")
HEAD_TOO_LARGE = _answer(
    b"431 Request Header Fields Too Large", b"the request line and headers are too large"
)


def _may_end_head(data: bytes) -> bool:
    """Whether the head can end in `data` (its blank line, or its last bytes, are in it)."""
    return b"\r\n\r\n" in data or b"\n\n" in data or data.startswith((b"\n", b"\r\n"))


def _head_size(scope: Any) -> int:
    """The bytes of a parsed request head: its target and its header lines."""
    target = len(scope.get("raw_path") or b"") + len(scope.get("query_string") or b"")
    return target + sum(len(name) + len(value) + 4 for name, value in scope.get("headers", ()))


def limited_protocol(
    base: type[asyncio.Protocol], *, request_timeout: float, max_head_bytes: int
) -> type[asyncio.Protocol]:
    """A subclass of uvicorn's HTTP protocol `base` (httptools or h11) with the request deadline
    and the head cap of this module.

    It relies on what both of uvicorn's protocols have: `transport`, `loop`, and `cycle`, the
    current request (set once its headers are in; `more_body` false once its body is).
    """

    class LimitedProtocol(base):  # type: ignore[valid-type,misc]
        _deadline: asyncio.TimerHandle | None = None
        _before: object = None
        """The request cycle before the one being received (its head is in once this changes)."""
        _head_bytes = 0

        def connection_made(self, transport: asyncio.Transport) -> None:
            super().connection_made(transport)
            self._arm()

        def data_received(self, data: bytes) -> None:
            if self._deadline is None:
                self._arm()  # the first byte of the next request on a keep-alive connection
            in_head = self.cycle is self._before
            if in_head:
                self._head_bytes += len(data)
                # Past the cap and the head cannot end in `data`: cut now. If it can, part of
                # `data` may be body, and the parser says below how large the head was.
                if self._head_bytes > max_head_bytes and not _may_end_head(data):
                    self._cut(HEAD_TOO_LARGE, "head_too_large")
                    return
            super().data_received(data)
            cycle = self.cycle
            # The head ended in `data`, which may carry body bytes as well: the head's size is
            # what the parser made of it, not what was read with it.
            ended = in_head and cycle is not self._before and cycle is not None
            if ended and _head_size(cycle.scope) > max_head_bytes:
                self._cut(HEAD_TOO_LARGE, "head_too_large")
                return
            if cycle is not self._before and cycle is not None and not cycle.more_body:
                self._disarm()  # all of it is in: how long the answer takes is ours

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            super().connection_lost(exc)

        def _arm(self) -> None:
            self._disarm()
            self._before = self.cycle
            self._head_bytes = 0
            self._deadline = self.loop.call_later(request_timeout, self._expired)

        def _disarm(self) -> None:
            if self._deadline is not None:
                self._deadline.cancel()
                self._deadline = None

        def _expired(self) -> None:
            self._deadline = None
            self._cut(TIMED_OUT, "timeout")

        def _cut(self, answer: bytes, reason: str) -> None:
            self._disarm()
            cycle: Any = None if self.cycle is self._before else self.cycle
            if self.transport.is_closing():
                return
            HTTP_CLIENTS_CUT.labels(reason).inc()
            if cycle is None or not cycle.response_started:
                self.transport.write(answer)
            # The app, if it was waiting for the body, is told the client left (http.disconnect).
            self.transport.close()

    LimitedProtocol.__name__ = f"Limited{base.__name__}"
    return LimitedProtocol


def frozen_after_startup(app: ASGIApp) -> ASGIApp:
    """`app`, whose long-lived objects leave the garbage collector's generations (`gc.freeze`)
    once its startup is done: just before the server hears it is ready, so before any request.

    Frozen objects are never collected; what startup made and dropped is collected first.
    """

    async def wrapped(scope: Any, receive: Receive, send: Send) -> None:
        if scope["type"] != "lifespan":
            await app(scope, receive, send)
            return

        async def send_frozen(message: Any) -> None:
            if message["type"] == "lifespan.startup.complete":
                gc.collect()
                gc.freeze()
                logger.debug("startup done: %d objects frozen", gc.get_freeze_count())
            await send(message)

        await app(scope, receive, send_frozen)

    return wrapped


def serve(app: Litestar, settings: HttpSettings, *, host: str, port: int, log_level: str) -> None:
    """Run `app` with uvicorn until interrupted, with the limits of `settings`."""
    from asyncio import selector_events

    import uvicorn
    from uvicorn.protocols.http.auto import AutoHTTPProtocol

    # Every socket of the process: HTTP, Postgres, Redis, the Telegram client.
    selector_events._SelectorSocketTransport.max_size = READ_SIZE  # type: ignore[attr-defined]

    uvicorn.run(
        frozen_after_startup(app),
        host=host,
        port=port,
        log_level=log_level,
        loop="asyncio",  # not uvloop: see the module's docstring
        log_config=None,  # our handler (JSON, redaction) serves uvicorn's loggers too
        http=limited_protocol(
            AutoHTTPProtocol,
            request_timeout=settings.request_timeout_seconds,
            max_head_bytes=settings.max_head_bytes,
        ),
        timeout_keep_alive=int(settings.keep_alive_seconds),
        limit_concurrency=settings.max_connections,
        # The connections a slow start or a burst leaves waiting for accept(); more are refused
        # by the kernel rather than held.
        backlog=settings.max_connections,
    )
