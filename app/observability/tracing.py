"""OpenTelemetry traces, exported over OTLP/HTTP when `KRAMAR_OTLP_ENDPOINT` is set.

Unset, nothing is installed: `span` and `traced` cost one flag check and the API's tracer stays
the no-op one. Set, `configure_tracing` installs one SDK `TracerProvider` for the process.

OpenTelemetry lets the global provider be set only once per process, so the provider is created
once and `configure_tracing` swaps the exporting processor inside it: calling it again (a test, a
second app in one process) replaces the exporter instead of being ignored, and its shutdown turns
tracing off again.

Webhook → worker: the webhook stores `inject_context()` with the update, the worker starts its
span with `links=links_from(carrier)`. A link, not a parent: the request span ends in a few
milliseconds while the update may be worked off seconds later, on another replica, more than once
(retries after a crash), and an album joins several webhook requests into one turn, which only
links can express. Each turn is its own trace, one click away from the requests that brought it.
"""

from __future__ import annotations

import functools
import logging
from contextlib import AbstractContextManager, contextmanager
from importlib import metadata
from typing import TYPE_CHECKING, Any, ParamSpec, Protocol, TypeVar

from opentelemetry import propagate, trace
from opentelemetry.trace import INVALID_SPAN, Link, Span, SpanKind, Status, StatusCode

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence

    from opentelemetry.context import Context
    from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor, TracerProvider
    from opentelemetry.sdk.trace import Span as SdkSpan
    from opentelemetry.sdk.trace.export import SpanExporter
    from opentelemetry.util.types import AttributeValue

    from app.config import Settings

log = logging.getLogger(__name__)

P = ParamSpec("P")
R = TypeVar("R")

SERVICE_NAME = "kramar"

tracer = trace.get_tracer("kramar")
"""The tracer of kramar's own spans (a proxy: it follows the provider installed later)."""

_enabled = False
_provider: TracerProvider | None = None
_switch: _Switch | None = None


def configure_tracing(
    settings: Settings, *, exporter: SpanExporter | None = None
) -> Callable[[], None] | None:
    """Export spans to `{settings.otlp_endpoint}/v1/traces`; None (and nothing done) when unset.

    Returns the shutdown function, which flushes the spans still queued (call it at exit).
    `exporter` replaces the OTLP one (tests, benchmarks).
    """
    global _enabled
    if not settings.otlp_endpoint:
        return None
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    if exporter is None:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        exporter = OTLPSpanExporter(endpoint=f"{settings.otlp_endpoint.rstrip('/')}/v1/traces")
    switch = _install_provider()
    processor = BatchSpanProcessor(exporter)
    previous, switch.target = switch.target, processor
    if previous is not None:
        previous.shutdown()
    _enabled = True
    log.info("tracing: exporting spans to %s", settings.otlp_endpoint)

    def shutdown() -> None:
        global _enabled
        if switch.target is not processor:
            return  # already shut down, or replaced (which shut it down)
        _enabled = False
        switch.target = None
        processor.shutdown()  # type: ignore[no-untyped-call]  # exports the queue, then stops

    return shutdown


def flush(timeout_millis: int = 30_000) -> bool:
    """Export the spans queued so far (tests, short-lived commands); True when done in time."""
    return _provider.force_flush(timeout_millis) if _provider is not None else True


def enabled() -> bool:
    """Are spans being recorded and exported?"""
    return _enabled


def span(
    name: str,
    attributes: Mapping[str, AttributeValue | None] | None = None,
    *,
    links: Sequence[Link] = (),
    kind: SpanKind = SpanKind.INTERNAL,
    context: Context | None = None,
) -> AbstractContextManager[Span]:
    """`with span("llm.complete", {"llm.schema": "Pick"}) as current:` a child of the current span.

    Safe in async code: the current span lives in a context variable, per task. Attributes that
    are None are left out. Keep them bounded: names and ids of our own things (model, SKU,
    outcome), never chat ids, texts or secrets. `context` (from `extract_context`) makes it a
    child of a span elsewhere instead. An exception marks the span as an error with its
    `error.type` (its class name) only: exception messages may quote what a customer wrote.
    """
    if not _enabled:
        return _NOOP
    return _recording(name, attributes, links, kind, context)


def traced(name: str) -> Callable[[Callable[P, Awaitable[R]]], Callable[P, Awaitable[R]]]:
    """Decorate an async function so each call is one span named `name`."""

    def decorate(function: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
        @functools.wraps(function)
        async def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            if not _enabled:
                return await function(*args, **kwargs)
            with _recording(name, None, (), SpanKind.INTERNAL):
                return await function(*args, **kwargs)

        return wrapper

    return decorate


def annotate(attributes: Mapping[str, AttributeValue | None], current: Span | None = None) -> None:
    """Set `attributes` (None values left out) on `current`, by default the current span."""
    target = current if current is not None else trace.get_current_span()
    if target.is_recording():
        target.set_attributes({k: v for k, v in attributes.items() if v is not None})


def inject_context() -> dict[str, str]:
    """The current trace context as W3C headers (`traceparent`), to store with queued work.

    Empty when no span is recording, so there is nothing to store when tracing is off.
    """
    carrier: dict[str, str] = {}
    if _enabled:
        propagate.inject(carrier)
    return carrier


def extract_context(carrier: Mapping[str, str] | None) -> Context:
    """The context stored by `inject_context`: pass it as `context=` to continue that trace."""
    return propagate.extract(dict(carrier or {}))


def links_from(*carriers: Mapping[str, str] | None) -> list[Link]:
    """Links to the spans whose contexts `inject_context` stored; invalid or empty ones skipped."""
    found: list[Link] = []
    for carrier in carriers:
        if not carrier:
            continue
        linked = trace.get_current_span(extract_context(carrier)).get_span_context()
        if linked.is_valid:
            found.append(Link(linked))
    return found


def current_ids() -> tuple[str, str] | None:
    """(trace_id, span_id) of the current span in hex, for log lines; None outside a span."""
    if not _enabled:
        return None
    context = trace.get_current_span().get_span_context()
    if not context.is_valid:
        return None
    return format(context.trace_id, "032x"), format(context.span_id, "016x")


@contextmanager
def _recording(
    name: str,
    attributes: Mapping[str, AttributeValue | None] | None,
    links: Sequence[Link],
    kind: SpanKind,
    context: Context | None = None,
) -> Iterator[Span]:
    clean = {k: v for k, v in attributes.items() if v is not None} if attributes else None
    with tracer.start_as_current_span(
        name,
        context=context,
        kind=kind,
        attributes=clean,
        links=links,
        record_exception=False,
        set_status_on_exception=False,
    ) as current:
        try:
            yield current
        except BaseException as exc:
            current.set_status(Status(StatusCode.ERROR))
            current.set_attribute("error.type", type(exc).__qualname__)
            status = getattr(exc, "status_code", None)  # openai.APIStatusError and the like
            if isinstance(status, int):
                current.set_attribute("http.response.status_code", status)
            raise


class _Noop(AbstractContextManager[Span]):
    """What `span` gives when tracing is off: no context switch, no allocation."""

    def __enter__(self) -> Span:
        return INVALID_SPAN

    def __exit__(self, *_: object) -> None:
        return None


_NOOP = _Noop()


class _Switch(Protocol):
    """The provider's one span processor and its sampler (see `_install_provider`)."""

    target: SpanProcessor | None


def _install_provider() -> _Switch:
    """The process's SDK provider with its swappable processor, created and set once.

    The SDK is imported here, not at the top: with tracing off it is never loaded (~90 ms).
    """
    global _provider, _switch
    if _switch is not None:
        return _switch
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
    from opentelemetry.sdk.trace.sampling import (
        ALWAYS_ON,
        Decision,
        ParentBased,
        Sampler,
        SamplingResult,
    )

    class Switch(SpanProcessor, Sampler):
        """Forwards to the current exporter's batch processor; while there is none (after a
        shutdown) it samples every span away, so direct `tracer` users cost nothing either."""

        def __init__(self) -> None:
            self.target: SpanProcessor | None = None
            self._sampler = ParentBased(ALWAYS_ON)

        def should_sample(self, *args: Any, **kwargs: Any) -> SamplingResult:
            if self.target is None:
                return SamplingResult(Decision.DROP)
            return self._sampler.should_sample(*args, **kwargs)

        def get_description(self) -> str:
            return "kramar switch"

        def on_start(self, span: SdkSpan, parent_context: Context | None = None) -> None:
            if (target := self.target) is not None:
                target.on_start(span, parent_context)

        def on_end(self, span: ReadableSpan) -> None:
            if (target := self.target) is not None:
                target.on_end(span)

        def shutdown(self) -> None:
            if (target := self.target) is not None:
                target.shutdown()

        def force_flush(self, timeout_millis: int = 30_000) -> bool:
            target = self.target
            return target.force_flush(timeout_millis) if target is not None else True

    switch = Switch()
    try:
        version = metadata.version("kramar")
    except metadata.PackageNotFoundError:
        version = "unknown"
    resource = Resource.create({"service.name": SERVICE_NAME, "service.version": version})
    # No sampling away: a shop's traffic is small, and the failed turn is the one to look at.
    provider = TracerProvider(resource=resource, sampler=switch, shutdown_on_exit=False)
    provider.add_span_processor(switch)
    trace.set_tracer_provider(provider)
    if trace.get_tracer_provider() is not provider:
        log.warning("tracing: another tracer provider was installed first; its spans win")
    _provider, _switch = provider, switch
    return switch


__all__ = [
    "annotate",
    "configure_tracing",
    "current_ids",
    "enabled",
    "extract_context",
    "flush",
    "inject_context",
    "links_from",
    "span",
    "traced",
    "tracer",
]
