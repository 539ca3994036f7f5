"""A local stand-in for the OpenAI API, reached by the real `openai` SDK over HTTP.

Enough of the API for kramar: `POST /v1/chat/completions` (non-streaming) and `POST
/v1/embeddings`. Each test scripts what a model does next with `server.script(model, ...)`:
answer, fail with a status, rate-limit with Retry-After, hang, answer broken JSON (in the
message, or a body that is not a chat completion at all), cut the body short, send it slowly
(`Drip`), or compute the answer from the request (`Respond`, for many clients at once). Every
request is recorded for assertions.
"""

from __future__ import annotations

import base64
import hashlib
import json
import struct
import threading
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import TYPE_CHECKING, Any

from tests.servers.http import LoopbackServer

if TYPE_CHECKING:
    from collections.abc import Callable


@dataclass(frozen=True)
class Answer:
    """Answer with `content` (any text: broken JSON is just content that does not parse)."""

    content: str
    prompt_tokens: int = 100
    completion_tokens: int = 20


@dataclass(frozen=True)
class Fail:
    """Fail with HTTP `status` and an OpenAI-shaped error body."""

    status: int = 500
    retry_after: float | None = None
    """Seconds in a Retry-After header (429)."""


@dataclass(frozen=True)
class Hang:
    """Send nothing for `seconds`, then answer `then` (if the client is still there)."""

    seconds: float
    then: Answer = field(default_factory=lambda: Answer("{}"))


@dataclass(frozen=True)
class Raw:
    """Answer `body` as it is, e.g. a chat completion cut in half or not JSON at all."""

    body: bytes
    status: int = 200


@dataclass(frozen=True)
class Truncated:
    """Promise a whole chat completion (Content-Length) and close after `keep` of its bytes."""

    then: Answer = field(default_factory=lambda: Answer("{}"))
    keep: int = 40


@dataclass(frozen=True)
class Drip:
    """Send the headers at once, then the body of `then` a few bytes every `interval` seconds:
    each read gets something, so only a limit on the whole request stops it."""

    then: Answer = field(default_factory=lambda: Answer("{}"))
    interval: float = 0.2
    chunk: int = 8


@dataclass(frozen=True)
class Respond:
    """Behave as `function(request body)` says, for many clients at once (a load run): a
    module-level function, so a server started in another process can be given it too."""

    function: Callable[[dict[str, Any]], Behaviour]


Behaviour = Answer | Fail | Hang | Raw | Truncated | Drip | Respond


def rate_limited(retry_after: float = 1.0) -> Fail:
    """Fail with 429 and a Retry-After of `retry_after` seconds."""
    return Fail(429, retry_after)


@dataclass(frozen=True)
class Recorded:
    path: str
    model: str
    body: dict[str, Any]
    headers: dict[str, str]

    @property
    def messages(self) -> list[dict[str, Any]]:
        return list(self.body.get("messages", []))


class OpenAIServer(LoopbackServer):
    """The stand-in on a free loopback port, served from a thread."""

    def __init__(self, *, dimensions: int = 64) -> None:
        self.dimensions = dimensions
        self.requests: list[Recorded] = []
        self._scripts: dict[str, deque[Behaviour]] = defaultdict(deque)
        self._defaults: dict[str, Behaviour] = {}
        self._lock = threading.Lock()
        super().__init__(_handler(self))

    @property
    def base_url(self) -> str:
        return f"{self.url}/v1"

    def script(self, model: str, *behaviours: Behaviour) -> None:
        """What `model` does on its next requests, in order; then its default."""
        with self._lock:
            self._scripts[model].extend(behaviours)

    def default(self, model: str, behaviour: Behaviour) -> None:
        """What `model` does once its script is used up (else: answer `{}`)."""
        with self._lock:
            self._defaults[model] = behaviour

    def requests_for(self, model: str) -> list[Recorded]:
        with self._lock:
            return [r for r in self.requests if r.model == model]

    def _next(self, model: str) -> Behaviour:
        with self._lock:
            queue = self._scripts[model]
            if queue:
                return queue.popleft()
            return self._defaults.get(model, Answer("{}"))

    def _record(self, request: Recorded) -> None:
        with self._lock:
            self.requests.append(request)

    def embedding(self, text: str, dimensions: int) -> list[float]:
        """A deterministic unit vector for `text` (from SHA-256 in counter mode)."""
        raw = b""
        counter = 0
        while len(raw) < dimensions * 4:
            raw += hashlib.sha256(f"{counter}:{text}".encode()).digest()
            counter += 1
        values = [
            (n / 0xFFFFFFFF) * 2 - 1
            for n in struct.unpack(f"<{dimensions}I", raw[: dimensions * 4])
        ]
        norm = sum(v * v for v in values) ** 0.5 or 1.0
        return [v / norm for v in values]


def _handler(server: OpenAIServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass  # quiet test output

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            try:
                body = json.loads(self.rfile.read(length) or b"{}")
            except json.JSONDecodeError:
                self._send(400, _error("invalid JSON body", "invalid_request_error"))
                return
            model = str(body.get("model", ""))
            path = self.path.rstrip("/")
            server._record(
                Recorded(path, model, body, {k.lower(): v for k, v in self.headers.items()})
            )
            if path == "/v1/chat/completions":
                self._chat(model, body)
            elif path == "/v1/embeddings":
                self._embeddings(model, body)
            else:
                self._send(404, _error(f"no route {self.path}", "not_found"))

        def _chat(self, model: str, body: dict[str, Any]) -> None:
            behaviour = server._next(model)
            while isinstance(behaviour, Respond):
                behaviour = behaviour.function(body)
            if isinstance(behaviour, Hang):
                if server._stopping.wait(behaviour.seconds):
                    return
                behaviour = behaviour.then
            if isinstance(behaviour, Fail):
                headers = {}
                if behaviour.retry_after is not None:
                    headers["Retry-After"] = f"{behaviour.retry_after:g}"
                self._send(behaviour.status, _error(f"scripted {behaviour.status}"), headers)
                return
            if isinstance(behaviour, Raw):
                self._send_bytes(behaviour.status, behaviour.body)
                return
            if isinstance(behaviour, Truncated):
                data = json.dumps(_completion(model, behaviour.then)).encode()
                self._send_bytes(200, data[: behaviour.keep], length=len(data))
                self.close_connection = True
                return
            if isinstance(behaviour, Drip):
                self._drip(json.dumps(_completion(model, behaviour.then)).encode(), behaviour)
                return
            self._send(200, _completion(model, behaviour))

        def _drip(self, data: bytes, drip: Drip) -> None:
            try:
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                for start in range(0, len(data), drip.chunk):
                    self.wfile.write(data[start : start + drip.chunk])
                    self.wfile.flush()
                    if server._stopping.wait(drip.interval):
                        return
            except OSError:
                self.close_connection = True  # the client gave up, as it should

        def _embeddings(self, model: str, body: dict[str, Any]) -> None:
            inputs = body.get("input", [])
            texts = [inputs] if isinstance(inputs, str) else [str(i) for i in inputs]
            dimensions = int(body.get("dimensions") or server.dimensions)
            data = []
            for index, text in enumerate(texts):
                vector = server.embedding(text, dimensions)
                embedding: list[float] | str = vector
                if body.get("encoding_format") == "base64":
                    embedding = base64.b64encode(struct.pack(f"<{dimensions}f", *vector)).decode()
                data.append({"object": "embedding", "index": index, "embedding": embedding})
            tokens = sum(len(t.split()) for t in texts)
            self._send(
                200,
                {
                    "object": "list",
                    "model": model,
                    "data": data,
                    "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
                },
            )

        def _send(
            self, status: int, payload: dict[str, Any], headers: dict[str, str] | None = None
        ) -> None:
            self._send_bytes(status, json.dumps(payload).encode(), headers=headers)

        def _send_bytes(
            self,
            status: int,
            data: bytes,
            *,
            length: int | None = None,
            headers: dict[str, str] | None = None,
        ) -> None:
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data) if length is None else length))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)
                self.wfile.flush()
            except OSError:
                pass  # the client gave up (timed out) before the answer

    return Handler


def _completion(model: str, answer: Answer) -> dict[str, Any]:
    return {
        "id": f"chatcmpl-{time.monotonic_ns()}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": answer.content},
                "finish_reason": "stop",
            }
        ],
        "usage": {
            "prompt_tokens": answer.prompt_tokens,
            "completion_tokens": answer.completion_tokens,
            "total_tokens": answer.prompt_tokens + answer.completion_tokens,
        },
    }


def _error(message: str, kind: str = "server_error") -> dict[str, Any]:
    return {"error": {"message": message, "type": kind, "param": None, "code": None}}
