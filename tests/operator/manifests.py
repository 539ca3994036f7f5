"""What the operator asks of a deployment, as files: the Role (operator/rbac.yaml) and the
peering objects (operator/peering.yaml). The operator's tests hold them to the calls it makes;
the chart's and k8s/'s tests hold their objects to them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

OPERATOR = Path(__file__).resolve().parents[2] / "operator"
ROLE = OPERATOR / "rbac.yaml"
PEERING_YAML = OPERATOR / "peering.yaml"


def allowed(role: dict[str, Any]) -> set[tuple[str, str, str]]:
    """(API group, resource, verb) of every call a Role's rules allow."""
    return {
        (group, resource, verb)
        for rule in role["rules"]
        for group in rule["apiGroups"]
        for resource in rule["resources"]
        for verb in rule["verbs"]
    }
