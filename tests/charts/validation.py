"""Offline validation of rendered objects: built-in kinds with kubernetes-validate (strict),
custom resources against tests/charts/schemas and the chart's own CRDs."""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

import jsonschema  # type: ignore[import-untyped]
import yaml

from tests.charts.helm import CHART, Manifest

# The oldest Kubernetes the chart supports (Chart.yaml kubeVersion) and a current one.
KUBERNETES_VERSIONS = ("1.25.0", "1.33.0")
SCHEMAS = Path(__file__).parent / "schemas"


@functools.cache
def custom_schemas() -> dict[tuple[str, str], dict[str, Any]]:
    """(apiVersion, kind) -> JSON schema: the vendored monitoring ones, and the chart's own CRDs."""
    found = {}
    for path in SCHEMAS.glob("*/*.json"):
        schema = json.loads(path.read_text(encoding="utf-8"))
        props = schema["properties"]
        found[(props["apiVersion"]["const"], props["kind"]["const"])] = schema
    for path in (CHART / "crds").glob("*.yaml"):
        crd = yaml.safe_load(path.read_text(encoding="utf-8"))
        for version in crd["spec"]["versions"]:
            api = f"{crd['spec']['group']}/{version['name']}"
            found[(api, crd["spec"]["names"]["kind"])] = version["schema"]["openAPIV3Schema"]
    return found


_VALID: set[tuple[str, str]] = set()


def validate(obj: Manifest, kubernetes: str) -> None:
    """Raise unless `obj` is valid; an object already found valid (most repeat across shapes and
    Helm versions) is not checked again."""
    seen = (json.dumps(obj, sort_keys=True), kubernetes)
    if seen in _VALID:
        return
    _check(obj, kubernetes)
    _VALID.add(seen)


def _check(obj: Manifest, kubernetes: str) -> None:
    key = (obj["apiVersion"], obj["kind"])
    if key in custom_schemas():
        jsonschema.validate(obj, custom_schemas()[key])
        return
    import kubernetes_validate

    kubernetes_validate.validate(obj, kubernetes, strict=True)
