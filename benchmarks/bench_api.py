"""GET /api/v1/products/{sku} against a bare Litestar handler, served the same way, in one run."""

from __future__ import annotations

import statistics

from benchmarks.servers import bare_server, kramar_server, wrk
from benchmarks.table import Row

SKU = "KR-KS-001"
ROUNDS = 3  # alternate the two servers so drift on this shared machine hits both alike


def run() -> list[Row]:
    kramar_rps: list[float] = []
    bare_rps: list[float] = []
    with kramar_server() as kramar, bare_server() as bare:
        for _ in range(ROUNDS):
            bare_rps.append(wrk(f"{bare}/bare/{SKU}"))
            kramar_rps.append(wrk(f"{kramar}/api/v1/products/{SKU}"))
    k, b = statistics.median(kramar_rps), statistics.median(bare_rps)
    return [
        Row(
            "api",
            "bare Litestar handler, constant JSON",
            b,
            "req/s",
            note="uvicorn, 1 worker, wrk -c32",
        ),
        Row("api", "GET /api/v1/products/{sku}", k, "req/s", note="same server setup"),
        Row("api", "GET product / bare handler", 100 * k / b, "%", goal=">= 40 %"),
    ]
