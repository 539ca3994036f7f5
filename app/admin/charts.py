"""Small charts drawn on the server as inline SVG: no script, no CDN, no inline styles (the
colours come from the panel's CSS classes), readable on a phone."""

from __future__ import annotations

from dataclasses import dataclass
from html import escape

from markupsafe import Markup

WIDTH = 640
HEIGHT = 220
_TOP = 20
_BOTTOM = 28
_LEFT = 8


@dataclass(frozen=True)
class Series:
    name: str
    values: list[int]
    css_class: str
    """Colour of the bars (`fill` in admin.css)."""


def bar_chart(labels: list[str], series: list[Series], *, title: str) -> Markup:
    """Grouped bars, one group per label, scaled to the largest value; each bar carries its
    value as a <title> (shown on hover or long press) and as text above it when it fits."""
    groups = max(len(labels), 1)
    largest = max((v for s in series for v in s.values), default=0) or 1
    plot = HEIGHT - _TOP - _BOTTOM
    group_width = (WIDTH - 2 * _LEFT) / groups
    bar_width = max(group_width * 0.8 / max(len(series), 1), 1.0)
    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(title)}</title>",
        f'<line class="axis" x1="{_LEFT}" y1="{HEIGHT - _BOTTOM}" '
        f'x2="{WIDTH - _LEFT}" y2="{HEIGHT - _BOTTOM}"/>',
    ]
    for index, label in enumerate(labels):
        left = _LEFT + index * group_width + group_width * 0.1
        for number, one in enumerate(series):
            value = one.values[index] if index < len(one.values) else 0
            height = plot * value / largest
            x = left + number * bar_width
            y = HEIGHT - _BOTTOM - height
            parts.append(
                f'<rect class="{escape(one.css_class)}" x="{x:.1f}" y="{y:.1f}" '
                f'width="{bar_width * 0.9:.1f}" height="{height:.1f}">'
                f"<title>{escape(label)}: {escape(one.name)} {value}</title></rect>"
            )
            if value and bar_width >= 12:
                parts.append(
                    f'<text class="value" x="{x + bar_width * 0.45:.1f}" y="{y - 4:.1f}" '
                    f'text-anchor="middle">{value}</text>'
                )
        parts.append(
            f'<text class="label" x="{left + group_width * 0.4:.1f}" y="{HEIGHT - 10}" '
            f'text-anchor="middle">{escape(label)}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 (every interpolated text is escaped above)


def meter(value: float, limit: float, *, title: str) -> Markup:
    """A horizontal bar: `value` of `limit` (the model spend against the daily budget)."""
    share = 0.0 if limit <= 0 else min(value / limit, 1.0)
    state = "meter-over" if limit > 0 and value >= limit else "meter-fill"
    return Markup(  # noqa: S704 (only numbers and the escaped title are interpolated)
        f'<svg class="meter" viewBox="0 0 300 16" role="img" aria-label="{escape(title)}" '
        f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>'
        f'<rect class="meter-track" x="0" y="0" width="300" height="16" rx="4"/>'
        f'<rect class="{state}" x="0" y="0" width="{300 * share:.1f}" height="16" rx="4"/></svg>'
    )
