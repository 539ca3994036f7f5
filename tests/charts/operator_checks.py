"""What every deployment of the operator must agree with: the real `kramar operator` command, the
settings app/config.py reads, and operator/rbac.yaml. Used on the chart's shapes
(tests/charts/test_operator.py) and on k8s/ (tests/deploy/test_kustomize.py)."""

from __future__ import annotations

import os
import tomllib
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import yaml

from app.cli import main, operator_command
from app.config import OperatorSettings, Settings, describe_settings
from tests.charts.helm import ROOT, Manifest, env_sources, env_values
from tests.operator.manifests import ROLE, allowed

if TYPE_CHECKING:
    from pathlib import Path

    import pytest

PEERING_RULE = {("kopf.dev", "kopfpeerings", verb) for verb in ("list", "watch", "patch")}
# Variables of the pod that are not kramar settings: the bundled database's password (put into
# the URL by $(VAR)), the pod's namespace (into KRAMAR_OPERATOR_NAMESPACES), kopf's identity.
POD_PLUMBING = {"DATABASE_PASSWORD", "POD_NAMESPACE", "POD_ID"}


def assert_runs_kramar_operator(container: dict[str, Any]) -> None:
    """The container's command line is one the real `kramar operator` accepts, with every
    setting left to the environment."""
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    argv = [*container["command"], *container.get("args", [])]

    assert argv[0] == "kramar" and scripts["scripts"]["kramar"] == "app.cli:main"
    group = main.make_context("kramar", argv[1:])
    name, command, rest = main.resolve_command(group, argv[1:])
    assert command is operator_command
    # Raises on an option `kramar operator` does not have (the chart once passed --peering).
    parsed = command.make_context(name, rest, parent=group)
    assert parsed.params == {"namespaces": (), "all_namespaces": False}, "settings come from env"


def assert_variables_are_settings(container: dict[str, Any], objects: list[Manifest]) -> None:
    """Every variable is a setting kramar reads (or the pod plumbing above), the operator's own
    are OperatorSettings fields, and kopf's identity is the pod's name."""
    sources = env_sources(container, objects)
    settings = {name for name, _default, _doc in describe_settings()}
    operator = {f"KRAMAR_OPERATOR_{name.upper()}" for name in OperatorSettings.model_fields}

    assert sorted(n for n in sources if n not in settings | POD_PLUMBING) == []
    assert {n for n in sources if n.startswith("KRAMAR_OPERATOR_")} <= operator
    assert {
        "KRAMAR_OPERATOR_NAMESPACES",
        "KRAMAR_OPERATOR_PEERING",
        "KRAMAR_OPERATOR_LIVENESS_URL",
        "KRAMAR_OPERATOR_METRICS_PORT",
    } <= sources.keys()
    assert sources["POD_ID"] == ("field", "metadata.name")


def settings_of(
    container: dict[str, Any],
    objects: list[Manifest],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    *,
    namespace: str = "shop",
) -> Settings:
    """The settings `kramar` reads in `container` of a pod in `namespace` (no .env file, no
    KRAMAR_* variable of this machine)."""
    monkeypatch.chdir(tmp_path)
    for name in [name for name in os.environ if name.startswith("KRAMAR_")]:
        monkeypatch.delenv(name)
    for name, value in env_values(container, objects, namespace=namespace).items():
        monkeypatch.setenv(name, value)
    return Settings()


def assert_settings_fit_the_pod(container: dict[str, Any], settings: OperatorSettings) -> None:
    """The liveness URL and metrics port are the container's ports, and the probes ask the
    liveness URL's path; without namespaces `kramar operator` refuses to run."""
    ports = {port["name"]: port["containerPort"] for port in container["ports"]}
    liveness = urlsplit(settings.liveness_url)

    assert settings.namespaces
    assert ports == {"liveness": liveness.port, "metrics": settings.metrics_port}
    for probe in (container["livenessProbe"], container["readinessProbe"]):
        assert probe["httpGet"] == {"path": liveness.path, "port": "liveness"}
    assert liveness.hostname == "0.0.0.0", "the kubelet probes the pod's address"


def assert_role_is_operator_rbac(role: Manifest, *, peering: bool) -> None:
    """`role` allows exactly operator/rbac.yaml's calls (less kopfpeerings when standalone)."""
    expected = allowed(yaml.safe_load(ROLE.read_text(encoding="utf-8")))
    assert expected >= PEERING_RULE
    if not peering:
        expected -= PEERING_RULE

    assert role["kind"] == "Role"
    assert allowed(role) == expected
