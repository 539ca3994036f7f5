"""A minimal `/v1/embeddings` server for the OpenAI embedder's tests (stdlib, one thread).

Vectors are deterministic: [len(text), number of spaces, 1, 0, ...] of the asked dimension.
"""

from __future__ import annotations

import base64
import json
import struct
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


def fake_vector(text: str, dim: int) -> list[float]:
    return ([float(len(text)), float(text.count(" ")), 1.0] + [0.0] * dim)[:dim]


class EmbeddingsServer:
    def __init__(self, dim: int = 8, answer_dim: int | None = None) -> None:
        self.dim = dim
        self.answer_dim = answer_dim or dim  # a different value simulates a misconfigured model
        self.requests: list[dict[str, Any]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                server.requests.append(body)
                if self.path != "/v1/embeddings":
                    self.send_error(404)
                    return
                texts = body["input"] if isinstance(body["input"], list) else [body["input"]]
                data = []
                # Answered in reverse order: the client must sort by `index`.
                for index in reversed(range(len(texts))):
                    vector = fake_vector(texts[index], server.answer_dim)
                    embedding: Any = vector
                    if body.get("encoding_format") == "base64":
                        packed = struct.pack(f"<{len(vector)}f", *vector)
                        embedding = base64.b64encode(packed).decode()
                    data.append({"object": "embedding", "index": index, "embedding": embedding})
                payload = json.dumps(
                    {
                        "object": "list",
                        "data": data,
                        "model": body["model"],
                        "usage": {"prompt_tokens": len(texts), "total_tokens": len(texts)},
                    }
                ).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *_: object) -> None:
                pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/v1"

    def __enter__(self) -> EmbeddingsServer:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
