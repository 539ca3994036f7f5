"""`kramar serve`'s HTTP limits: a request must arrive whole in time, its head has a size cap.

uvicorn itself (as `app.serving` runs it) on a free port, reached over raw sockets, so the
client can be as slow or as large as an attacker's.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import TYPE_CHECKING, Any

import pytest
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from app.serving import READ_SIZE, limited_protocol
from tests.servers.redis import free_port

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

TIMEOUT = 0.6


async def echo(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Reads the whole body, waits if asked (`/slow`), answers the body's length."""
    if scope["type"] != "http":
        return
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return
        size += len(message.get("body", b""))
        if not message.get("more_body"):
            break
    if scope["path"] == "/slow":
        await asyncio.sleep(TIMEOUT * 2)  # the app's own time: never the client's fault
    body = str(size).encode()
    headers = [(b"content-type", b"text/plain"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})


@pytest.fixture(name="server", params=[HttpToolsProtocol, H11Protocol], ids=["httptools", "h11"])
async def fx_server(request: pytest.FixtureRequest) -> AsyncIterator[tuple[str, int]]:
    port = free_port()
    protocol = limited_protocol(request.param, request_timeout=TIMEOUT, max_head_bytes=4096)
    config = uvicorn.Config(
        echo, host="127.0.0.1", port=port, http=protocol, lifespan="off", log_config=None
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110 (uvicorn offers no event to wait on)
        await asyncio.sleep(0.01)
    yield "127.0.0.1", port
    server.should_exit = True
    await task


async def answer_of(reader: asyncio.StreamReader, within: float) -> tuple[bytes, float]:
    """(everything the server sent until it closed, seconds that took)."""
    started = time.monotonic()
    data = await asyncio.wait_for(reader.read(), within)
    return data, time.monotonic() - started


async def test_a_connection_that_sends_nothing_is_closed_after_the_timeout(server):
    reader, writer = await asyncio.open_connection(*server)
    data, took = await answer_of(reader, TIMEOUT * 5)
    assert data.startswith(b"HTTP/1.1 408")
    assert TIMEOUT * 0.8 < took < TIMEOUT * 3
    writer.close()


async def test_headers_sent_a_byte_at_a_time_are_cut_at_the_deadline(server):
    reader, writer = await asyncio.open_connection(*server)

    async def trickle() -> None:
        with contextlib.suppress(OSError):
            for byte in b"GET / HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 100:
                writer.write(bytes([byte]))
                await writer.drain()
                await asyncio.sleep(0.05)  # each byte well within any per-read timeout

    sending = asyncio.create_task(trickle())
    data, took = await answer_of(reader, TIMEOUT * 5)
    sending.cancel()
    assert data.startswith(b"HTTP/1.1 408")
    assert took < TIMEOUT * 3
    writer.close()


async def test_a_body_sent_slowly_is_cut_and_the_app_told_the_client_left(server):
    reader, writer = await asyncio.open_connection(*server)
    writer.write(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n")

    async def trickle() -> None:
        with contextlib.suppress(OSError):
            for _ in range(1000):
                writer.write(b"x")
                await writer.drain()
                await asyncio.sleep(0.05)

    sending = asyncio.create_task(trickle())
    data, took = await answer_of(reader, TIMEOUT * 5)
    sending.cancel()
    assert data.startswith(b"HTTP/1.1 408")
    assert took < TIMEOUT * 3
    writer.close()


async def test_a_slow_answer_is_not_cut_and_keep_alive_requests_each_get_their_time(server):
    reader, writer = await asyncio.open_connection(*server)
    for _ in range(2):
        writer.write(b"POST /slow HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc")
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), TIMEOUT * 5)
        assert head.startswith(b"HTTP/1.1 200")
        assert await reader.readexactly(1) == b"3"
        # Idle between requests for less than the deadline: the next request is its own.
        await asyncio.sleep(TIMEOUT * 0.7)
    writer.close()


async def test_a_head_over_the_cap_is_431(server):
    reader, writer = await asyncio.open_connection(*server)
    writer.write(b"GET / HTTP/1.1\r\nHost: x\r\n" + b"X-Big: " + b"a" * 8000 + b"\r\n\r\n")
    data, _ = await answer_of(reader, TIMEOUT * 5)
    assert data.startswith(b"HTTP/1.1 431")
    writer.close()


PROBE = """
import asyncio, gc, sys
from litestar import Litestar, get
from app.config import HttpSettings
from app.serving import serve

MADE = {}

async def startup() -> None:
    MADE["at startup"] = [[] for _ in range(100)]

@get("/probe")
async def probe() -> dict[str, object]:
    made = MADE["at startup"]
    from asyncio import selector_events
    return {
        "loop": type(asyncio.get_running_loop()).__module__,
        "read size": selector_events._SelectorSocketTransport.max_size,
        "frozen": gc.get_freeze_count(),
        "startup objects collectable": any(o is made for o in gc.get_objects()),
    }

serve(Litestar([probe], on_startup=[startup]), HttpSettings(), host="127.0.0.1",
      port=int(sys.argv[1]), log_level="warning")
"""


async def test_kramar_serve_runs_asyncios_loop_with_the_started_app_frozen(tmp_path):
    """Under 200 waiting connections uvloop left some unserved for seconds and full collections
    walked every long-lived object: `serve` runs asyncio's loop, and what startup made is out of
    the collector's sight before the first request (`gc.freeze`). Its socket reads are small:
    asyncio's 256 KiB reads grew the worker's memory under steady traffic (`make soak`)."""
    import sys

    import httpx

    port = free_port()
    probe = tmp_path / "probe.py"
    probe.write_text(PROBE)
    proc = await asyncio.create_subprocess_exec(sys.executable, str(probe), str(port))
    try:
        async with httpx.AsyncClient() as client:
            for _ in range(300):
                with contextlib.suppress(httpx.TransportError):
                    answer = (await client.get(f"http://127.0.0.1:{port}/probe")).json()
                    break
                await asyncio.sleep(0.05)
            else:
                raise AssertionError("the probe server did not come up")
    finally:
        proc.terminate()
        await proc.wait()
    assert answer["loop"] == "asyncio.unix_events"
    assert answer["read size"] == READ_SIZE < 256 * 1024
    assert answer["frozen"] > 1000
    assert answer["startup objects collectable"] is False


async def test_body_bytes_read_with_the_head_do_not_count_against_the_head_cap(server):
    """A small head and a large body in one read: the body is the app's to judge (413 there),
    not a 431 here (a 2 MiB webhook body was sometimes 431)."""
    reader, writer = await asyncio.open_connection(*server)
    body = b"x" * 100_000
    writer.write(
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s"
        % (len(body), body)
    )
    data, _ = await answer_of(reader, TIMEOUT * 5)
    assert data.startswith(b"HTTP/1.1 200"), data[:80]
    assert data.endswith(b"100000")
    writer.close()


async def test_a_head_over_the_cap_sent_in_pieces_is_431_before_it_ends(server):
    reader, writer = await asyncio.open_connection(*server)
    writer.write(b"GET / HTTP/1.1\r\nHost: x\r\n")
    for _ in range(3):
        writer.write(b"X-Big: " + b"a" * 2000 + b"\r\n")
        await writer.drain()
        await asyncio.sleep(0.02)
    data, _ = await answer_of(reader, TIMEOUT * 5)
    assert data.startswith(b"HTTP/1.1 431")
    writer.close()
