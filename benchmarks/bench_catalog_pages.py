"""GET /api/v1/products (a catalog page) under 200 concurrent connections, before and after the
page cache: the same `kramar serve` setup run from a checkout of the base commit
(BENCH_BASELINE, default `main`) and from this tree, alternated in one run.
"""

from __future__ import annotations

import os
import statistics

from benchmarks.servers import checkout, kramar_server, kramar_server_at, wrk_latency
from benchmarks.table import Row

PAGE = "/api/v1/products?limit=20"
CONNECTIONS = 200
ROUNDS = 2


def run() -> list[Row]:
    baseline = os.environ.get("BENCH_BASELINE", "main")
    before: list[tuple[float, float, int]] = []
    after: list[tuple[float, float, int]] = []
    with (
        checkout(baseline) as old,
        kramar_server_at(old, None, {}) as base_old,
        kramar_server() as base_new,
    ):
        for _ in range(ROUNDS):
            before.append(wrk_latency(f"{base_old}{PAGE}", connections=CONNECTIONS))
            after.append(wrk_latency(f"{base_new}{PAGE}", connections=CONNECTIONS))
    rows = []
    for label, runs in ((f"before ({baseline})", before), ("after (this tree)", after)):
        rps = statistics.median(r[0] for r in runs)
        p99 = statistics.median(r[1] for r in runs)
        errors = sum(r[2] for r in runs)
        rows += [
            Row("api", f"GET {PAGE}, {CONNECTIONS} connections, {label}", rps, "req/s"),
            Row(
                "api",
                f"GET {PAGE} p99, {CONNECTIONS} connections, {label}",
                p99,
                "ms",
                goal="<= 250 ms" if label.startswith("after") else "",
                note=f"wrk -c{CONNECTIONS} 8 s, median of {ROUNDS}; {errors} non-2xx",
            ),
        ]
    return rows
