"""The alert rules load in Prometheus and each fires when it should and only then (promtool)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
RULES_DIR = ROOT / "charts" / "kramar" / "files" / "prometheus"
RUNBOOKS_URL = "https://github.com/kramar-shop/kramar/blob/main/docs/runbooks.md"


@pytest.fixture(name="promtool")
def fx_promtool() -> str:
    path = shutil.which("promtool")
    if path is None:
        pytest.fail("promtool is not installed: run `make system-deps` (Debian package prometheus)")
    return path


def run_promtool(promtool: str, *args: str) -> None:
    done = subprocess.run(
        [promtool, *args], cwd=RULES_DIR, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, f"promtool {' '.join(args)} failed:\n{done.stdout}{done.stderr}"


def test_the_rule_file_is_valid(promtool):
    run_promtool(promtool, "check", "rules", "alerts.yaml")


def test_every_alert_fires_in_its_unit_test_and_stays_quiet_in_another(promtool):
    run_promtool(promtool, "test", "rules", "alerts_test.yaml")


def test_every_alert_has_a_severity_a_runbook_and_unit_tests():
    rules = yaml.safe_load((RULES_DIR / "alerts.yaml").read_text(encoding="utf-8"))
    tests = yaml.safe_load((RULES_DIR / "alerts_test.yaml").read_text(encoding="utf-8"))
    runbooks = (ROOT / "docs" / "runbooks.md").read_text(encoding="utf-8")
    alerts = {rule["alert"]: rule for group in rules["groups"] for rule in group["rules"]}
    cases = [case for test in tests["tests"] for case in test.get("alert_rule_test", [])]

    for alert, rule in alerts.items():
        assert rule["labels"]["severity"] in {"critical", "warning"}, alert
        assert {"summary", "description", "runbook_url"} <= rule["annotations"].keys(), alert
        assert rule["annotations"]["runbook_url"] == RUNBOOKS_URL + "#" + alert.lower()
        own = [case for case in cases if case["alertname"] == alert]
        assert any(case["exp_alerts"] for case in own), f"{alert}: no case where it fires"
        assert any(not case["exp_alerts"] for case in own), f"{alert}: no case where it is quiet"
        assert f"\n## {alert}\n" in runbooks, f"{alert}: no section in docs/runbooks.md"
