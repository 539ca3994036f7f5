"""The one row format every benchmark module returns, and the table the runner prints."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Row:
    """One measured figure. `goal` is the issue's target in words, e.g. "<= 20 ms"."""

    group: str
    name: str
    value: float
    unit: str
    goal: str = ""
    note: str = ""


def _fmt(value: float) -> str:
    if value >= 100:
        return f"{value:,.0f}"
    if value >= 1:
        return f"{value:.2f}"
    return f"{value:.4f}"


def render(rows: list[Row]) -> str:
    headers = ("group", "benchmark", "value", "unit", "goal", "note")
    cells = [(r.group, r.name, _fmt(r.value), r.unit, r.goal, r.note) for r in rows]
    widths = [
        max(len(h), *(len(c[i]) for c in cells)) if cells else len(h) for i, h in enumerate(headers)
    ]
    lines = [
        "| " + " | ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)) + " |",
        "|" + "|".join("-" * (w + 2) for w in widths) + "|",
    ]
    lines += [
        "| " + " | ".join(c.ljust(w) for c, w in zip(cell, widths, strict=True)) + " |"
        for cell in cells
    ]
    return "\n".join(lines)
