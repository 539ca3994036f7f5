"""A local stand-in for an OpenTelemetry collector: `POST /v1/traces` over OTLP/HTTP (protobuf).

The real exporter sends to it; every span received is decoded and recorded (name, ids, parent,
links, attributes, status, resource attributes) for assertions.
"""

from __future__ import annotations

import gzip
import threading
import time
import zlib
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import TYPE_CHECKING, Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

from tests.servers.http import LoopbackServer

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue


@dataclass(frozen=True)
class ExportedSpan:
    name: str
    trace_id: str
    """32 hex digits, as log lines show it."""
    span_id: str
    parent_span_id: str
    """Empty for a root span."""
    attributes: dict[str, Any]
    links: list[tuple[str, str]] = field(default_factory=list)
    """(trace_id, span_id) of each linked span."""
    status: int = 0
    """0 unset, 1 ok, 2 error."""
    resource: dict[str, Any] = field(default_factory=dict)


class OTLPCollector(LoopbackServer):
    """The stand-in on a free loopback port, served from a thread."""

    def __init__(self) -> None:
        self.spans: list[ExportedSpan] = []
        self.requests = 0
        self._lock = threading.Lock()
        super().__init__(_handler(self))

    @property
    def endpoint(self) -> str:
        """What KRAMAR_OTLP_ENDPOINT would be: the base URL, without /v1/traces."""
        return self.url

    def clear(self) -> None:
        with self._lock:
            self.spans.clear()
            self.requests = 0

    def named(self, name: str) -> list[ExportedSpan]:
        with self._lock:
            return [s for s in self.spans if s.name == name]

    def wait_for(self, check: Callable[[list[ExportedSpan]], bool], timeout: float = 5.0) -> None:
        """Wait until `check(spans received)` holds (exports arrive from the SDK's thread)."""
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                if check(list(self.spans)):
                    return
            if time.monotonic() > deadline:
                raise AssertionError(f"collector: condition not met; got {self.spans!r}")
            time.sleep(0.01)

    def _receive(self, request: ExportTraceServiceRequest) -> None:
        decoded = [
            ExportedSpan(
                name=span.name,
                trace_id=span.trace_id.hex(),
                span_id=span.span_id.hex(),
                parent_span_id=span.parent_span_id.hex(),
                attributes=_attributes(span.attributes),
                links=[(link.trace_id.hex(), link.span_id.hex()) for link in span.links],
                status=int(span.status.code),
                resource=_attributes(resource_spans.resource.attributes),
            )
            for resource_spans in request.resource_spans
            for scope_spans in resource_spans.scope_spans
            for span in scope_spans.spans
        ]
        with self._lock:
            self.requests += 1
            self.spans.extend(decoded)


def _value(value: AnyValue) -> Any:
    kind = value.WhichOneof("value")
    if kind == "array_value":
        return [_value(v) for v in value.array_value.values]
    if kind == "kvlist_value":
        return _attributes(value.kvlist_value.values)
    return None if kind is None else getattr(value, kind)


def _attributes(pairs: Iterable[KeyValue]) -> dict[str, Any]:
    return {pair.key: _value(pair.value) for pair in pairs}


def _handler(collector: OTLPCollector) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass  # quiet test output

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            encoding = (self.headers.get("Content-Encoding") or "").lower()
            if encoding == "gzip":
                body = gzip.decompress(body)
            elif encoding == "deflate":
                body = zlib.decompress(body)
            if self.path.rstrip("/") != "/v1/traces":
                self._send(404, b"")
                return
            request = ExportTraceServiceRequest()
            try:
                request.ParseFromString(body)
            except Exception:  # protobuf's DecodeError: a broken body is the exporter's bug
                self._send(400, b"")
                return
            collector._receive(request)
            self._send(200, ExportTraceServiceResponse().SerializeToString())

        def _send(self, status: int, data: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "application/x-protobuf")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    return Handler
