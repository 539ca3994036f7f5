"""Memory of eight huge PNGs identified at once (see benchmarks/decode_memory.py)."""

from __future__ import annotations

from benchmarks.decode_memory import PHOTOS, measure
from benchmarks.table import Row

GROUP = "vision memory"
MB = 1024 * 1024


def run() -> list[Row]:
    figures = measure()
    note = f"{PHOTOS} x 6300x6300 PNG at once, fresh process"
    return [
        Row(GROUP, "RSS before", figures["baseline"] / MB, "MB", "", note),
        Row(GROUP, "peak added", (figures["peak"] - figures["baseline"]) / MB, "MB", "<= 400"),
        Row(GROUP, "kept after", (figures["after"] - figures["baseline"]) / MB, "MB", "<= 100"),
        Row(GROUP, "time for all", figures["seconds"], "s"),
    ]
