"""The Helm chart lints and ships the alert rules and the dashboard as Prometheus and Grafana
read them.

The rule file and the dashboard hold Prometheus and Grafana templates ({{ $value }}, {{model}}), so
these tests check that Helm passes them through untouched. `helm template` needs no cluster.
"""

from __future__ import annotations

import copy
import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.charts.helm import MONITORING_APIS

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "charts" / "kramar"
ALERTS = CHART / "files" / "prometheus" / "alerts.yaml"
DASHBOARD = CHART / "files" / "grafana" / "kramar-dashboard.json"
CI_VALUES = sorted((CHART / "ci").glob("*-values.yaml"))
# The literal opening hours of KramarNoTelegramUpdates in the rule file, replaced by the chart.
FILE_HOURS = "hour() >= 7 and hour() < 18"
# Where scripts/install-helm.sh puts helm when it is not on PATH.
INSTALL_DIR = Path(os.environ.get("HELM_INSTALL_DIR", Path.home() / ".local" / "bin"))

Manifest = dict[str, Any]


@pytest.fixture(name="helm")
def fx_helm() -> str:
    path = shutil.which("helm") or shutil.which("helm", path=str(INSTALL_DIR))
    if path is None:
        pytest.fail("helm is not installed: run `bash scripts/install-helm.sh`")
    return path


def run_helm(helm: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [helm, *args], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )


def render(helm: str, *args: str) -> list[Manifest]:
    """The objects `helm template` makes from the chart with the given extra arguments, as on a
    cluster with the Prometheus Operator's CRDs (the monitoring objects need them)."""
    apis = [arg for api in MONITORING_APIS for arg in ("--api-versions", api)]
    done = run_helm(helm, "template", "shop", str(CHART), *apis, *args)
    assert done.returncode == 0, f"helm template failed:\n{done.stderr}"
    return [doc for doc in yaml.safe_load_all(done.stdout) if doc]


def only(objects: list[Manifest], kind: str) -> Manifest:
    found = [obj for obj in objects if obj["kind"] == kind]
    assert len(found) == 1, f"expected one {kind}, got {len(found)}"
    return found[0]


def rule_file_groups() -> list[dict[str, Any]]:
    groups: list[dict[str, Any]] = yaml.safe_load(ALERTS.read_text(encoding="utf-8"))["groups"]
    return groups


def rules_by_alert(groups: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {rule["alert"]: rule for group in groups for rule in group["rules"]}


@pytest.mark.parametrize("values", CI_VALUES, ids=lambda path: path.name)
def test_chart_lints_with_each_ci_values_file(helm, values):
    done = run_helm(helm, "lint", "--strict", str(CHART), "--values", str(values))

    assert done.returncode == 0, f"helm lint failed:\n{done.stdout}{done.stderr}"


def test_values_schema_rejects_an_hour_out_of_range(helm):
    done = run_helm(
        helm, "template", "shop", str(CHART), "--set", "monitoring.openingHours.startUtc=25"
    )

    assert done.returncode != 0
    assert "startUtc" in done.stderr


def test_prometheus_rule_is_the_rule_file_by_default(helm):
    rule = only(render(helm), "PrometheusRule")

    assert rule["apiVersion"] == "monitoring.coreos.com/v1"
    assert rule["metadata"]["name"] == "shop-kramar"
    assert rule["spec"] == {"groups": rule_file_groups()}


def test_opening_hours_from_values_replace_those_of_the_rule_file(helm):
    rule = only(
        render(
            helm,
            "--set",
            "monitoring.openingHours.startUtc=6",
            "--set",
            "monitoring.openingHours.endUtc=19",
        ),
        "PrometheusRule",
    )

    expected = copy.deepcopy(rule_file_groups())
    silence = rules_by_alert(expected)["KramarNoTelegramUpdates"]
    assert FILE_HOURS in silence["expr"]
    silence["expr"] = silence["expr"].replace(FILE_HOURS, "hour() >= 6 and hour() < 19")
    assert rule["spec"]["groups"] == expected


def test_opening_hours_may_span_midnight_utc(helm):
    rule = only(
        render(
            helm,
            "--set",
            "monitoring.openingHours.startUtc=20",
            "--set",
            "monitoring.openingHours.endUtc=2",
        ),
        "PrometheusRule",
    )

    expr = rules_by_alert(rule["spec"]["groups"])["KramarNoTelegramUpdates"]["expr"]
    assert "and on () (hour() >= 20 or hour() < 2)" in expr


def test_equal_opening_and_closing_hours_are_refused(helm):
    done = run_helm(
        helm,
        "template",
        "shop",
        str(CHART),
        "--set",
        "monitoring.openingHours.startUtc=9",
        "--set",
        "monitoring.openingHours.endUtc=9",
    )

    assert done.returncode != 0
    assert "never be open" in done.stderr


def test_prometheus_templates_in_annotations_are_left_for_prometheus(helm):
    rules = rules_by_alert(only(render(helm), "PrometheusRule")["spec"]["groups"])

    backlog = rules["KramarInboxBacklog"]["annotations"]["description"]
    down = rules["KramarAppDown"]["annotations"]["description"]
    assert "{{ $value | humanizeDuration }}" in backlog
    assert "{{ with $labels.instance }}{{ . }}{{ else }}" in down


def test_prometheus_rule_carries_the_labels_prometheus_selects_it_by(helm):
    values = CHART / "ci" / "kube-prometheus-stack-values.yaml"
    rule = only(render(helm, "--values", str(values)), "PrometheusRule")

    # A CRD: kubernetes-validate has no schema for it, so check its shape here.
    assert rule["apiVersion"] == "monitoring.coreos.com/v1"
    assert rule["kind"] == "PrometheusRule"
    assert set(rule) == {"apiVersion", "kind", "metadata", "spec"}
    assert set(rule["metadata"]) == {"name", "labels"}
    assert all(isinstance(value, str) for value in rule["metadata"]["labels"].values())
    assert rule["metadata"]["labels"]["release"] == "prometheus"
    assert rule["metadata"]["labels"]["app.kubernetes.io/instance"] == "shop"
    assert set(rule["spec"]) == {"groups"}
    for group in rule["spec"]["groups"]:
        assert isinstance(group["name"], str)
        for alert in group["rules"]:
            assert isinstance(alert["alert"], str)
            assert isinstance(alert["expr"], str)


def dashboard_configmap(objects: list[Manifest]) -> Manifest:
    found = [obj for obj in objects if obj["metadata"]["name"] == "shop-kramar-dashboard"]
    assert len(found) == 1
    return found[0]


def test_dashboard_configmap_holds_the_dashboard_for_grafanas_sidecar(helm):
    config_map = dashboard_configmap(render(helm))

    assert config_map["metadata"]["labels"]["grafana_dashboard"] == "1"
    assert "annotations" not in config_map["metadata"]
    dashboard = json.loads(config_map["data"]["kramar-dashboard.json"])
    assert dashboard == json.loads(DASHBOARD.read_text(encoding="utf-8"))


def test_dashboard_sidecar_label_folder_and_namespace_come_from_values(helm):
    config_map = dashboard_configmap(
        render(
            helm,
            "--set",
            "monitoring.grafanaDashboard.label=dashboards",
            "--set",
            "monitoring.grafanaDashboard.labelValue=kramar",
            "--set",
            "monitoring.grafanaDashboard.folder=Shop",
            "--set",
            "monitoring.grafanaDashboard.namespace=monitoring",
        )
    )

    assert config_map["metadata"]["labels"]["dashboards"] == "kramar"
    assert "grafana_dashboard" not in config_map["metadata"]["labels"]
    assert config_map["metadata"]["annotations"] == {"grafana_folder": "Shop"}
    assert config_map["metadata"]["namespace"] == "monitoring"


@pytest.mark.parametrize(
    ("switch", "gone", "kept"),
    [
        ("prometheusRule", "shop-kramar", "shop-kramar-dashboard"),
        ("grafanaDashboard", "shop-kramar-dashboard", "shop-kramar"),
    ],
)
def test_each_monitoring_object_disappears_when_disabled(helm, switch, gone, kept):
    objects = render(helm, "--set", f"monitoring.{switch}.enabled=false")
    monitoring = {
        obj["metadata"]["name"]
        for obj in objects
        if obj["kind"] == "PrometheusRule" or "grafana_dashboard" in obj["metadata"]["labels"]
    }

    assert monitoring == {kept}
    assert gone not in monitoring


def test_no_monitoring_object_is_rendered_with_monitoring_off(helm):
    values = CHART / "ci" / "monitoring-off-values.yaml"
    objects = render(helm, "--values", str(values))

    assert not [obj for obj in objects if obj["kind"] == "PrometheusRule"]
    assert not [obj for obj in objects if "grafana_dashboard" in obj["metadata"]["labels"]]
