"""Alert groups as Telegram HTML, the way the on-call engineer reads them on a phone.

Everything that comes from labels and annotations is escaped: a label value with `<b>&` must
show as text, not break the message (Telegram refuses the whole message on bad HTML).
"""

from __future__ import annotations

import html
import json
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING
from urllib.parse import quote
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from app.bot.text import TEXT_LIMIT, split_message

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from app.alerts.schemas import Alert

SEVERITY_EMOJI = {"critical": "🔴", "error": "🔴", "page": "🔴", "warning": "🟠", "info": "🔵"}
STATUS_TITLE = {"firing": "🔥 <b>СПРАЦЮВАЛО</b>", "resolved": "✅ <b>ВИРІШЕНО</b>"}
# Shown first, in this order; the rest alphabetically.
KEY_LABELS = ("namespace", "job", "service", "deployment", "pod", "container", "team")
# Labels every alert of a Prometheus carries, or that repeat what the message already says.
NOISY_LABELS = frozenset(
    {"alertname", "severity", "prometheus", "prometheus_replica", "endpoint", "uid",
     "pod_template_hash", "controller_revision_hash", "metrics_path", "receive", "id"}
)  # fmt: skip
# A piece marker "(12/12)" fits in this many characters.
PIECE_MARK_ROOM = 24


def _kyiv_zone() -> ZoneInfo | None:
    for name in ("Europe/Kyiv", "Europe/Kiev"):
        try:
            return ZoneInfo(name)
        except ZoneInfoNotFoundError:
            continue
    return None


KYIV = _kyiv_zone()


def kyiv_time(moment: datetime, *, date: bool = True) -> str:
    """`moment` on the wall clock in Kyiv, e.g. 24.11 14:03."""
    local = moment.astimezone(KYIV) if KYIV else moment.astimezone(UTC) + _eu_offset(moment)
    return local.strftime("%d.%m %H:%M" if date else "%H:%M")


def _eu_offset(moment: datetime) -> timedelta:
    """UTC+3 in EU summer time, else +2: Kyiv without a tz database (a slim image)."""
    utc = moment.astimezone(UTC)

    def last_sunday(month: int) -> datetime:
        day = datetime(utc.year, month, 31, 1, tzinfo=UTC)
        return day - timedelta(days=(day.weekday() + 1) % 7)

    return timedelta(hours=3 if last_sunday(3) <= utc < last_sunday(10) else 2)


def duration(span: timedelta) -> str:
    minutes = max(0, round(span.total_seconds() / 60))
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    parts = [f"{days} д" if days else "", f"{hours} год" if hours else "", f"{minutes} хв"]
    return " ".join(p for p in parts if p and not (p == "0 хв" and (days or hours))) or "0 хв"


def silence_url(external_url: str, matchers: Mapping[str, str]) -> str | None:
    """Alertmanager's "new silence" page with the matchers filled in."""
    if not external_url or not matchers:
        return None
    terms = ",".join(f"{name}={json.dumps(value)}" for name, value in sorted(matchers.items()))
    return f"{external_url.rstrip('/')}/#/silences/new?filter={quote('{' + terms + '}')}"


def common(mappings: Sequence[Mapping[str, str]]) -> dict[str, str]:
    """The pairs every mapping has (Alertmanager's commonLabels, over any subset of alerts)."""
    if not mappings:
        return {}
    first, *rest = mappings
    return {k: v for k, v in first.items() if all(m.get(k) == v for m in rest)}


def key_labels(labels: Mapping[str, str], *, skip: Mapping[str, str] | None = None) -> str:
    """`namespace: shop · job: kramar · pod: …`, the labels worth reading, escaped."""
    shown = {k: v for k, v in labels.items() if k not in NOISY_LABELS and k not in (skip or {})}
    if "pod" in labels:
        shown.pop("instance", None)  # the pod name says the same and reads better
    order = [k for k in KEY_LABELS if k in shown] + sorted(k for k in shown if k not in KEY_LABELS)
    return " · ".join(f"{_e(k)}: <code>{_e(shown[k])}</code>" for k in order)


def render(
    alerts: Sequence[Alert],
    *,
    external_url: str = "",
    truncated: int = 0,
) -> str:
    """One message for a group of alerts (the status is firing while any alert fires)."""
    ordered = sorted(alerts, key=lambda a: (a.status != "firing", a.starts_at, a.fingerprint))
    firing = any(a.status == "firing" for a in ordered)
    labels = common([a.labels for a in ordered])
    notes = common([a.annotations for a in ordered])
    single = len(ordered) == 1

    title = STATUS_TITLE["firing" if firing else "resolved"]
    if not single:
        counts = [sum(a.status == s for a in ordered) for s in ("firing", "resolved")]
        title += f" <b>{counts[0]}</b>" if firing else f" <b>{counts[1]}</b>"
        if firing and counts[1]:
            title += f" (і вирішено {counts[1]})"
    if "severity" in labels:
        title += f" · {_severity(labels['severity'])}"
    lines = [title]
    head = f"<b>{_e(labels['alertname'])}</b>" if "alertname" in labels else ""
    if "summary" in notes:
        head += (": " if head else "") + _e(notes["summary"])
    if head:
        lines.append(head)
    if "description" in notes and firing:
        lines.append(_e(notes["description"]))
    shared = key_labels(labels)
    if shared:
        lines.append(shared)
    if single:
        lines.append(_when(ordered[0]))
    blocks = ["\n".join(lines)]

    if not single:
        blocks += [_entry(i, a, labels, notes) for i, a in enumerate(ordered, 1)]
    if truncated:
        blocks.append(f"<i>…і ще {truncated} (Alertmanager не надіслав їх)</i>")
    links = []
    if "runbook_url" in notes:
        links.append(_link(notes["runbook_url"], "📖 runbook"))
    if single and ordered[0].generator_url:
        links.append(_link(ordered[0].generator_url, "📈 графік"))
    silence = silence_url(external_url, labels) if firing else None
    if silence:
        links.append(_link(silence, "🔕 заглушити"))
    if links:
        blocks.append(" · ".join(links))
    return "\n\n".join(blocks)


def pieces(text: str) -> list[str]:
    """`text` as Telegram messages, numbered "(1/3)" when it takes more than one."""
    parts = split_message(text, TEXT_LIMIT - PIECE_MARK_ROOM, html=True)
    if len(parts) == 1:
        return parts
    return [f"{part}\n<i>({i}/{len(parts)})</i>" for i, part in enumerate(parts, 1)]


def _entry(number: int, alert: Alert, labels: Mapping[str, str], notes: Mapping[str, str]) -> str:
    mark = "🔥" if alert.status == "firing" else "✅"
    head = f"{number}. {mark}"
    if "alertname" not in labels:
        head += f" <b>{_e(alert.name)}</b>"
    if "severity" not in labels and "severity" in alert.labels:
        head += f" {_severity(alert.labels['severity'])}"
    own = key_labels(alert.labels, skip=labels)
    if own:
        head += f" {own}"
    lines = [head]
    if "summary" in alert.annotations and "summary" not in notes:
        lines.append(_e(alert.annotations["summary"]))
    if "runbook_url" in alert.annotations and "runbook_url" not in notes:
        lines.append(_link(alert.annotations["runbook_url"], "📖 runbook"))
    lines.append(_when(alert))
    return "\n".join(lines)


def _when(alert: Alert) -> str:
    ended = alert.ended
    if alert.status == "resolved" and ended is not None:
        same_day = kyiv_time(ended)[:5] == kyiv_time(alert.starts_at)[:5]
        return (
            f"🕒 {kyiv_time(alert.starts_at)} → {kyiv_time(ended, date=not same_day)} (Київ), "
            f"тривало {duration(ended - alert.starts_at)}"
        )
    return f"🕒 з {kyiv_time(alert.starts_at)} (Київ)"


def _severity(value: str) -> str:
    return f"{SEVERITY_EMOJI.get(value.lower(), '⚪')} <b>{_e(value)}</b>"


def _link(url: str, label: str) -> str:
    # Only web links: a javascript: or tg: URL in an annotation must not become clickable.
    if not url.startswith(("https://", "http://")):
        return f"{label}: {_e(url)}"
    return f'<a href="{html.escape(url, quote=True)}">{label}</a>'


def _e(text: str) -> str:
    return html.escape(text, quote=False)
