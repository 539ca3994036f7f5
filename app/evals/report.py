"""The printed tables, the JSON report and the reliability diagram (PNG, drawn with Pillow)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from PIL import Image, ImageDraw, ImageFont

from app.evals.results import by_slice, summarize

if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path

    from app.evals.calibrate import Calibration
    from app.evals.gates import Judged
    from app.evals.results import CaseResult, Summary
    from app.evals.text import EmbedderRow

# The rates each suite's table shows, in order, with their column titles.
COLUMNS: dict[str, list[tuple[str, str]]] = {
    "vision": [
        ("correct", "card right"),
        ("correct_or_asks_right", "right or asks right"),
        ("wrong_sku", "wrong SKU"),
        ("other_wrong", "not ours: card"),
        ("ask", "asks"),
        ("handoff", "not sure / person"),
    ],
    "text": [
        ("intent", "intent"),
        ("shop_intent", "shop intent"),
        ("recall_at_3", "recall@3"),
        ("product", "card right"),
        ("wrong_answer", "wrong card"),
        ("ask", "asks"),
        ("handoff", "person"),
    ],
    "dialog": [
        ("outcome", "outcome reached"),
        ("outcome_built", "built part reached"),
        ("handoff", "handed off"),
    ],
}
SLICE_KEYS = {"vision": ["transform"], "text": ["lang", "intent"], "dialog": ["lang"]}
SLICE_METRICS = {
    "vision": ["correct_or_asks_right", "wrong_sku", "other_wrong"],
    "text": ["intent", "recall_at_3", "wrong_answer"],
    "dialog": ["outcome", "outcome_built"],
}


def markdown(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def suite_table(suite: str, summaries: Sequence[Summary]) -> str:
    columns = COLUMNS[suite]
    header = ["contender", "split", "n", *(title for _, title in columns)]
    header += ["p50 ms", "p95 ms", "tokens", "cost $", "errors"]
    rows = []
    for s in summaries:
        if s.suite != suite:
            continue
        rates = [str(s.rates[m]) if m in s.rates else "—" for m, _ in columns]
        rows.append(
            [
                s.contender,
                s.split,
                str(s.cases),
                *rates,
                f"{s.latency_p50_ms:.1f}",
                f"{s.latency_p95_ms:.1f}",
                str(s.tokens),
                f"{s.cost_usd:.4f}",
                str(s.errors),
            ]
        )
    return markdown(header, rows)


def slice_table(suite: str, contender: str, results: Sequence[CaseResult], split: str) -> str:
    metrics = SLICE_METRICS[suite]
    titles = dict(COLUMNS[suite])
    header = ["slice", "n", *(titles[m] for m in metrics)]
    rows = []
    for key in SLICE_KEYS[suite]:
        for value, group in by_slice(results, key, split).items():
            summary = summarize(suite, contender, split, group)
            cells = [str(summary.rates[m]) if m in summary.rates else "—" for m in metrics]
            rows.append([f"{key}={value}", str(summary.cases), *cells])
    return markdown(header, rows)


def embedder_table(rows: Sequence[EmbedderRow]) -> str:
    from app.evals.stats import Rate

    header = ["embedder", "split", "n", "recall@1", "recall@3", "retrieve p50 ms", "p95 ms"]
    header.append("embed query p50 ms")
    body = [
        [
            r.embedder,
            r.split,
            str(r.cases),
            str(Rate(r.at1, r.cases)),
            str(Rate(r.at3, r.cases)),
            f"{r.latency_p50_ms:.1f}",
            f"{r.latency_p95_ms:.1f}",
            f"{r.embed_p50_ms:.2f}",
        ]
        for r in rows
    ]
    return markdown(header, body)


def calibration_table(calibration: Calibration) -> str:
    rows = [
        [f"{b.low:.1f}–{b.high:.1f}", str(b.count), f"{b.accuracy:.1%}", f"{b.confidence:.2f}"]
        for b in calibration.bins
        if b.count
    ]
    table = markdown(["confidence", "answers", "right", "mean confidence"], rows)
    ece = f"expected calibration error: {calibration.ece:.3f} ({calibration.points} answers)"
    return f"{table}\n\n{ece}"


def gate_table(judged: Sequence[Judged]) -> str:
    rows = []
    for j in judged:
        gate = j.gate
        bound = f">= {gate.min:.0%}" if gate.min is not None else f"<= {gate.max:.0%}"
        status = j.status if j.status != "pending" else f"pending ({gate.pending})"
        rows.append([gate.suite, gate.metric, gate.split, gate.contender, bound, j.value, status])
    return markdown(["suite", "metric", "split", "contender", "target", "measured", "gate"], rows)


def reliability_png(calibration: Calibration, path: Path, title: str) -> None:
    """Bars: accuracy per confidence band; the diagonal: perfect calibration; counts on top."""
    size, margin = 480, 56
    image = Image.new("RGB", (size, size), "white")
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=13)
    plot = size - 2 * margin
    x0, y0 = margin, size - margin
    draw.rectangle((x0, margin, x0 + plot, y0), outline="black")
    draw.line((x0, y0, x0 + plot, margin), fill=(160, 160, 160), width=2)
    bands = len(calibration.bins) or 1
    width = plot / bands
    for i, b in enumerate(calibration.bins):
        if not b.count:
            continue
        left = x0 + i * width
        top = y0 - b.accuracy * plot
        draw.rectangle((left + 2, top, left + width - 2, y0), fill=(70, 120, 200), outline="black")
        draw.text((left + 4, min(top, y0 - 14) - 14), str(b.count), fill="black", font=font)
    for i in range(0, 11, 2):
        draw.text((x0 + i / 10 * plot - 8, y0 + 6), f"{i / 10:.1f}", fill="black", font=font)
        draw.text((x0 - 34, y0 - i / 10 * plot - 7), f"{i / 10:.1f}", fill="black", font=font)
    draw.text((margin, 14), title, fill="black", font=font)
    draw.text(
        (margin, 30),
        f"ECE {calibration.ece:.3f}, {calibration.points} answers",
        fill="black",
        font=font,
    )
    draw.text((size // 2 - 40, size - 22), "confidence", fill="black", font=font)
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path)


def write_json(path: Path, report: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, ensure_ascii=False, indent=1, default=str), encoding="utf-8")
