"""`GET /metrics`: the Prometheus scrape endpoint, right with one worker process or several."""

from __future__ import annotations

import os

from litestar import Controller, Response, Router, get
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    generate_latest,
    multiprocess,
)

MULTIPROC_DIR_ENV = "PROMETHEUS_MULTIPROC_DIR"


def render_metrics() -> bytes:
    """Every metric of this app in the text exposition format.

    With PROMETHEUS_MULTIPROC_DIR set, each worker writes its values to files there and a scrape
    that reaches any one worker must add up all of them; a fresh registry per scrape, because a
    MultiProcessCollector must not share a registry with the worker's own (in-memory) metrics.
    """
    path = os.environ.get(MULTIPROC_DIR_ENV)
    if not path:
        return generate_latest(REGISTRY)
    registry = CollectorRegistry()
    # prometheus_client leaves this __init__ unannotated.
    multiprocess.MultiProcessCollector(registry, path=path)  # type: ignore[no-untyped-call]
    return generate_latest(registry)


class MetricsController(Controller):
    """Prometheus scrape endpoint."""

    path = "/metrics"
    tags = ["observability"]

    # sync_to_thread: in multiprocess mode a scrape reads one file per worker and metric.
    @get(
        "/",
        operation_id="GetMetrics",
        summary="Prometheus metrics",
        description="Counters, gauges and histograms of every worker, for Prometheus to scrape.",
        media_type=CONTENT_TYPE_LATEST,
        sync_to_thread=True,
    )
    def get_metrics(self) -> Response[bytes]:
        """The current metrics in the Prometheus text format."""
        # The header given outright: from media_type alone Litestar appends a second charset.
        return Response(
            content=render_metrics(),
            media_type=CONTENT_TYPE_LATEST,
            headers={"content-type": CONTENT_TYPE_LATEST},
        )


metrics_router = Router(path="/", route_handlers=[MetricsController])
"""Register in `create_app()`: `route_handlers=[..., metrics_router]`."""
