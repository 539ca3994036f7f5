"""Telegram-side helpers for benchmarks: the Bot API stand-in in its own process, Update JSON,
an open-loop webhook load generator and the inbox counters from `/metrics`.

The stand-in runs in a child process, not a thread of the load generator: a busy server thread
would hold the load generator's GIL for up to the 5 ms switch interval and show up as webhook
latency that the app never caused.
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import os
import re
import time
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

import httpx

from tests.servers.telegram import TOKEN, TelegramServer

if TYPE_CHECKING:
    from collections.abc import Iterator
    from multiprocessing.connection import Connection

SECRET = "bench-webhook-secret"
HEADERS = {"X-Telegram-Bot-Api-Secret-Token": SECRET, "Content-Type": "application/json"}
WEBHOOK = "/telegram/webhook"


def telegram_env(api_url: str) -> dict[str, str]:
    """`kramar serve` in webhook mode against the stand-in, with the flood limits switched off
    (1 message/s per chat and 30/s overall would make the limiter, not the app, the figure)."""
    return {
        "KRAMAR_TELEGRAM_BOT_TOKEN": TOKEN,
        "KRAMAR_TELEGRAM_WEBHOOK_SECRET": SECRET,
        "KRAMAR_TELEGRAM_API_URL": api_url,
        "KRAMAR_PUBLIC_URL": "https://shop.example",
        "KRAMAR_TELEGRAM_PER_CHAT_INTERVAL_SECONDS": "0",
        "KRAMAR_TELEGRAM_GLOBAL_INTERVAL_SECONDS": "0",
    }


def _stand_in(conn: Connection) -> None:
    with TelegramServer() as server:
        conn.send(server.url)
        while True:
            command = conn.recv()
            if command == "stop":
                return
            sent = server.sent()
            if command == "count":
                conn.send(len(sent))
            elif command == "chats":
                conn.send(len({s.chat_id for s in sent}))
            elif command == "actions":  # (chat, monotonic time) of every sendChatAction
                calls = server.calls_to("sendChatAction")
                conn.send([(int(c.params["chat_id"]), c.at) for c in calls])
            elif command == "texts":  # (chat, text) of every message sent
                conn.send([(s.chat_id, s.text or "") for s in sent])


class StandIn:
    """The Bot API stand-in in a child process; asks go over a pipe (microseconds)."""

    def __init__(self, url: str, conn: Connection) -> None:
        self.url = url
        self._conn = conn

    def count(self) -> int:
        """Messages the bot has sent (or edited) so far."""
        self._conn.send("count")
        return int(self._conn.recv())

    def chats(self) -> int:
        """Distinct chats the bot has sent something to."""
        self._conn.send("chats")
        return int(self._conn.recv())

    def actions(self) -> list[tuple[int, float]]:
        """(chat, `time.monotonic()`) of every chat action, in order (one clock machine-wide)."""
        self._conn.send("actions")
        return list(self._conn.recv())

    def texts(self) -> list[tuple[int, str]]:
        """(chat, text) of every message sent, in order."""
        self._conn.send("texts")
        return list(self._conn.recv())

    def wait(self, count: int, timeout: float) -> bool:
        """Poll until `count` messages were sent; False when `timeout` seconds pass first."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.count() >= count:
                return True
            time.sleep(0.01)
        return self.count() >= count


@contextmanager
def stand_in() -> Iterator[StandIn]:
    context = multiprocessing.get_context("spawn")
    ours, theirs = context.Pipe()
    child = context.Process(target=_stand_in, args=(theirs,), daemon=True)
    child.start()
    try:
        yield StandIn(str(ours.recv()), ours)
    finally:
        ours.send("stop")
        child.join(timeout=10)
        if child.is_alive():
            child.kill()


@contextmanager
def pinned(cpu: int) -> Iterator[None]:
    """Run this process (and children it starts meanwhile) on `cpu` only, when there are two."""
    before = os.sched_getaffinity(0)
    if (os.cpu_count() or 1) > 1 and cpu in before:
        os.sched_setaffinity(0, {cpu})
    try:
        yield
    finally:
        os.sched_setaffinity(0, before)


def text_update(update_id: int, chat_id: int, text: str) -> bytes:
    """A private-chat text message Update, as Telegram posts it, already JSON-encoded."""
    message = {
        "message_id": update_id,
        "date": int(time.time()),
        "chat": {"id": chat_id, "type": "private", "first_name": "Olena"},
        "from": {"id": chat_id, "is_bot": False, "first_name": "Olena"},
        "text": text,
    }
    return json.dumps({"update_id": update_id, "message": message}).encode()


@dataclass(frozen=True)
class OpenLoopResult:
    latencies: list[float]
    """Seconds from each request's scheduled send time to its response; for a request still
    unanswered at the cut-off, the time until the cut-off (a lower bound)."""
    errors: int
    """Responses other than 200 "stored", and transport failures."""
    unanswered: int
    """Requests still without a response `tail` seconds after the last scheduled send."""
    late_sends: int
    """Requests the generator itself sent more than `LATE` after their slot."""
    achieved_rate: float = 0.0
    """Requests per second actually sent, first slot to last write."""


LATE = 0.001
"""A send this long after its slot counts as late: the generator's own lag, not the app's."""


async def open_loop(
    base: str, bodies: list[bytes], interval: float, *, tail: float, connections: int = 64
) -> OpenLoopResult:
    """POST `bodies[i]` at `start + i * interval` whatever earlier responses do; each latency
    counts from the slot, so a stalled server is charged for the requests queued behind it
    (no coordinated omission). Requests unanswered `tail` s after the last slot are cut off.

    Plain HTTP/1.1 over keep-alive asyncio streams, the requests encoded before the start:
    httpx spent more CPU per request than the server under test, and the generator, not the
    app, fell behind its schedule. Each wake-up sends every slot already due, so a late
    wake-up costs one late batch, not a drift of the whole schedule."""
    host, _, port = base.removeprefix("http://").partition(":")
    requests = [_request(body) for body in bodies]
    queue: asyncio.Queue[tuple[bytes, float] | None] = asyncio.Queue()
    latencies: list[float] = []
    errors = 0
    late = 0
    answered = 0
    last_write = 0.0

    async def connection() -> None:
        nonlocal errors, answered, last_write
        reader, writer = await asyncio.open_connection(host, int(port))
        try:
            while (item := await queue.get()) is not None:
                request, slot = item
                writer.write(request)
                last_write = time.perf_counter()
                head = await reader.readuntil(b"\r\n\r\n")
                status = int(head.split(b" ", 2)[1])
                length = next(
                    int(line.split(b":", 1)[1])
                    for line in head.split(b"\r\n")
                    if line.lower().startswith(b"content-length:")
                )
                answer = await reader.readexactly(length)
                latencies.append(time.perf_counter() - slot)
                answered += 1
                errors += status != 200 or b'"stored"' not in answer
        finally:
            writer.close()

    workers = [asyncio.create_task(connection()) for _ in range(connections)]
    start = time.perf_counter() + 0.05
    slots = [start + i * interval for i in range(len(requests))]
    sent = 0
    while sent < len(requests):
        delay = slots[sent] - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        now = time.perf_counter()
        while sent < len(requests) and slots[sent] <= now:
            late += now - slots[sent] > LATE
            queue.put_nowait((requests[sent], slots[sent]))
            sent += 1
    for _ in workers:
        queue.put_nowait(None)
    _, pending = await asyncio.wait(workers, timeout=tail)
    cut = time.perf_counter()
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    unanswered = len(bodies) - answered
    # Requests cut off count at their wait so far: a lower bound, said so in the row.
    latencies += [cut - slot for slot in slots[answered:]] if unanswered else []
    achieved = (len(bodies) - 1) / (last_write - start) if last_write > start else 0.0
    return OpenLoopResult(latencies, errors, unanswered, late, achieved)


def _open_loop_child(conn: Connection, args: tuple[str, list[bytes], float, float, int]) -> None:
    import uvloop

    base, bodies, interval, tail, connections = args
    conn.send(uvloop.run(open_loop(base, bodies, interval, tail=tail, connections=connections)))


def open_loop_apart(
    base: str, bodies: list[bytes], interval: float, *, tail: float, connections: int = 64
) -> OpenLoopResult:
    """`open_loop` in a process of its own on uvloop (inheriting this one's CPU mask): nothing
    else of the benchmark shares its event loop or its GIL, so it keeps 1,000 sends/s."""
    context = multiprocessing.get_context("spawn")
    ours, theirs = context.Pipe()
    child = context.Process(
        target=_open_loop_child,
        args=(theirs, (base, bodies, interval, tail, connections)),
        daemon=True,
    )
    child.start()
    try:
        result: OpenLoopResult = ours.recv()
    finally:
        child.join(timeout=30)
        if child.is_alive():
            child.kill()
    return result


def _request(body: bytes) -> bytes:
    return (
        f"POST {WEBHOOK} HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\n"
        f"X-Telegram-Bot-Api-Secret-Token: {SECRET}\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode() + body


async def post_all(base: str, bodies: list[bytes], *, concurrency: int = 16) -> int:
    """POST every body with `concurrency` requests in flight; the number not answered 200."""
    queue = iter(bodies)
    failed = 0
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30) as client:

        async def sender() -> None:
            nonlocal failed
            for body in queue:
                response = await client.post(WEBHOOK, content=body, headers=HEADERS)
                failed += response.status_code != 200

        await asyncio.gather(*(sender() for _ in range(concurrency)))
    return failed


_SAMPLE = re.compile(r'^telegram_updates_total\{kind="(\w+)",outcome="(\w+)"\} ([\d.e+]+)$', re.M)
_PENDING = re.compile(r"^inbox_pending(?:\{[^}]*\})? ([\d.e+]+)$", re.M)


def inbox_outcomes(base: str) -> dict[str, int]:
    """`telegram_updates_total` summed over kinds, by outcome (ok, error, duplicate, poisoned),
    plus `pending` from the `inbox_pending` gauge."""
    body = httpx.get(f"{base}/metrics", timeout=10).text
    outcomes: dict[str, int] = {}
    for _kind, outcome, value in _SAMPLE.findall(body):
        outcomes[outcome] = outcomes.get(outcome, 0) + int(float(value))
    pending = _PENDING.search(body)
    outcomes["pending"] = int(float(pending.group(1))) if pending else -1
    return outcomes


def quantile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def metric_lines(base: str, prefix: str) -> list[str]:
    """Raw `/metrics` lines starting with `prefix` (for checking what the app reports)."""
    body = httpx.get(f"{base}/metrics", timeout=10).text
    return [line for line in body.splitlines() if line.startswith(prefix)]
