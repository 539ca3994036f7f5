"""The Grafana dashboard and the alert rules query only metrics that app/observability defines.

A renamed metric then breaks this test instead of a panel or an alert going quietly empty.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client import Counter, Gauge, Histogram

from app.observability import metrics

ROOT = Path(__file__).resolve().parents[2]
DASHBOARD = ROOT / "charts" / "kramar" / "files" / "grafana" / "kramar-dashboard.json"
ALERTS = ROOT / "charts" / "kramar" / "files" / "prometheus" / "alerts.yaml"

# Series Prometheus makes itself, not the app.
PROMETHEUS_SERIES = {"up"}
KEYWORDS = {"and", "or", "unless", "by", "without", "on", "ignoring", "group_left", "group_right"}
KEYWORDS |= {"bool", "offset", "inf", "nan"}
# Label lists of by/without/on/ignoring/group_*: label names, not metrics.
LABEL_LIST = re.compile(
    r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", re.IGNORECASE
)
IDENTIFIER = re.compile(r"(?<![\w:.$])([a-zA-Z_:][\w:]*)(\s*\()?")


def exposed_names() -> set[str]:
    """The series names the metrics module's collectors expose."""
    names: set[str] = set()
    for collector in vars(metrics).values():
        if isinstance(collector, Counter):
            names.add(f"{collector._name}_total")
        elif isinstance(collector, Histogram):
            names |= {f"{collector._name}_{suffix}" for suffix in ("bucket", "count", "sum")}
        elif isinstance(collector, Gauge):
            names.add(collector._name)
    return names


def metric_names(expr: str) -> set[str]:
    """Metric names in a PromQL expression: identifiers that are neither functions nor keywords."""
    expr = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)  # strings: label values, regexes
    expr = re.sub(r"\{[^}]*\}", "", expr)  # label matchers
    expr = re.sub(r"\[[^\]]*\]", "", expr)  # ranges, subqueries
    expr = LABEL_LIST.sub("", expr)
    return {
        name for name, call in IDENTIFIER.findall(expr) if not call and name.lower() not in KEYWORDS
    }


def panel_exprs(panels: list[dict[str, Any]]) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    for panel in panels:
        found += [(panel["title"], t["expr"]) for t in panel.get("targets", []) if "expr" in t]
        found += panel_exprs(panel.get("panels", []))
    return found


def test_the_parser_finds_metrics_and_skips_functions_labels_and_keywords():
    expr = (
        "histogram_quantile(0.95, sum by (le, namespace) (rate(answer_latency_seconds_bucket"
        '{outcome="error", job=~"a|b"}[$__rate_interval]))) > on (namespace) '
        "min without (model) (llm_breaker_open) and hour() >= 7 or up offset 1d"
    )

    assert metric_names(expr) == {"answer_latency_seconds_bucket", "llm_breaker_open", "up"}


def test_every_dashboard_query_names_a_defined_metric():
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    exprs = panel_exprs(dashboard["panels"])
    known = exposed_names()

    unknown = {f"{title}: {name}" for title, expr in exprs for name in metric_names(expr) - known}

    assert exprs and all(metric_names(expr) for _, expr in exprs)
    assert not unknown, f"panels query metrics that app/observability/metrics.py lacks: {unknown}"


def test_the_dashboard_is_importable_and_uses_the_datasource_variable():
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    panels = [p for p in dashboard["panels"] if p["type"] != "row"]

    assert dashboard["schemaVersion"] >= 39
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    assert len({p["id"] for p in dashboard["panels"]}) == len(dashboard["panels"])
    for panel in panels:
        assert panel["datasource"]["uid"] == "${datasource}", panel["title"]
        assert all(t["datasource"]["uid"] == "${datasource}" for t in panel["targets"])


def test_every_alert_expression_names_a_defined_metric():
    rules = yaml.safe_load(ALERTS.read_text(encoding="utf-8"))
    known = exposed_names() | PROMETHEUS_SERIES

    unknown = {
        f"{rule['alert']}: {name}"
        for group in rules["groups"]
        for rule in group["rules"]
        for name in metric_names(rule["expr"]) - known
    }

    assert not unknown, f"alerts query metrics that app/observability/metrics.py lacks: {unknown}"


def test_every_dashboard_query_is_valid_promql(tmp_path):
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.fail("promtool is not installed: run `make system-deps` (Debian package prometheus)")
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    grafana_variables = {"$__rate_interval": "5m", "$__range": "1h", "$namespace": ".*"}
    rules = []
    for n, (_, expr) in enumerate(panel_exprs(dashboard["panels"])):
        for variable, value in grafana_variables.items():
            expr = expr.replace(variable, value)
        rules.append({"record": f"dashboard:query_{n}", "expr": expr})
    rule_file = tmp_path / "dashboard.yaml"
    rule_file.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}))

    done = subprocess.run(
        [promtool, "check", "rules", str(rule_file)], capture_output=True, text=True, timeout=60
    )

    assert done.returncode == 0, done.stdout + done.stderr
