"""Checks a platform team makes on every pod before it installs anything; used on the chart's
shapes (test_policy.py) and on the kustomize overlays (tests/deploy/test_kustomize.py)."""

from __future__ import annotations

import base64
import re
from typing import Any, get_args

import yaml
from pydantic import BaseModel, SecretStr
from pydantic_settings import BaseSettings

from app.config import Settings
from tests.charts.helm import Manifest, of_kind, pod_specs

SECRETISH = re.compile(r"TOKEN|PASSWORD|SECRET|API_KEY|LINKS|_URL$")
KRAMAR_IMAGE = re.compile(r"^ghcr\.io/kramar-shop/kramar:\d+\.\d+\.\d+(@sha256:[0-9a-f]{64})?$")
PINNED = re.compile(r"^[\w./-]+:[\w.-]+@sha256:[0-9a-f]{64}$")
REFERENCE = re.compile(r"^\$\([A-Z_]+\)$")


def holds_secret(annotation: Any) -> bool:
    """Whether a settings field of this type holds a SecretStr anywhere inside."""
    if annotation is SecretStr:
        return True
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return any(holds_secret(field.annotation) for field in annotation.model_fields.values())
    return any(holds_secret(arg) for arg in get_args(annotation))


def plain_settings(model: type[BaseSettings] = Settings) -> set[str]:
    """KRAMAR_* settings that hold no secret (no SecretStr inside): a literal value of one, such
    as KRAMAR_OPERATOR_LIVENESS_URL, is no leak even when its name looks secret."""
    prefix = str(model.model_config.get("env_prefix", ""))
    found: set[str] = set()
    for name, field in model.model_fields.items():
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseSettings):
            found |= plain_settings(annotation)
        elif not holds_secret(annotation):
            found.add((prefix + name).upper())
    return found


PLAIN_SETTINGS = plain_settings()


def containers(spec: dict[str, Any]) -> list[dict[str, Any]]:
    return [*spec.get("initContainers", []), *spec["containers"]]


def assert_locked_down(objects: list[Manifest]) -> None:
    """Non-root, seccomp, read-only root fs, no escalation, no capabilities, requests and limits."""
    for owner, spec in pod_specs(objects):
        where = f"{owner['kind']} {owner['metadata']['name']}"
        pod = spec.get("securityContext", {})
        assert pod.get("runAsNonRoot") is True, where
        assert pod.get("runAsUser", 0) != 0, where
        assert pod.get("seccompProfile") == {"type": "RuntimeDefault"}, where
        for container in containers(spec):
            security = container.get("securityContext", {})
            name = f"{where}/{container['name']}"
            assert security.get("readOnlyRootFilesystem") is True, name
            assert security.get("allowPrivilegeEscalation") is False, name
            assert security.get("capabilities", {}).get("drop") == ["ALL"], name
            assert not security.get("privileged"), name
            limits = container.get("resources", {}).get("limits", {})
            requests = container.get("resources", {}).get("requests", {})
            assert {"cpu", "memory"} <= limits.keys() & requests.keys(), name


def assert_probes(objects: list[Manifest]) -> None:
    """Every long-running container says when it is alive and when it is ready."""
    for owner, spec in pod_specs(objects):
        if owner["kind"] not in {"Deployment", "StatefulSet"}:
            continue
        for container in spec["containers"]:
            name = f"{owner['metadata']['name']}/{container['name']}"
            assert "livenessProbe" in container, name
            assert "readinessProbe" in container, name


def assert_images_pinned(objects: list[Manifest]) -> None:
    """kramar's own image at a release tag (or digest); every other image by digest."""
    for _owner, spec in pod_specs(objects):
        for container in containers(spec):
            image = container["image"]
            assert KRAMAR_IMAGE.match(image) or PINNED.match(image), image


def assert_no_secret_outside_secrets(objects: list[Manifest], given: set[str]) -> None:
    """No value of a Secret (or a secret the values gave) appears in any other object, and no env
    literal of a secret-looking name holds more than a $(VAR) reference."""
    secrets = {
        base64.b64decode(value).decode()
        for secret in of_kind(objects, "Secret")
        for value in secret.get("data", {}).values()
    } | given
    secrets.discard("")
    shown = [yaml.safe_dump(obj) for obj in objects if obj["kind"] != "Secret"]
    for value in secrets:
        for text in shown:
            assert value not in text, "a secret value is written outside a Secret"
    for _owner, spec in pod_specs(objects):
        for container in containers(spec):
            for env in container.get("env", []):
                name = env["name"]
                if "value" in env and SECRETISH.search(name) and name not in PLAIN_SETTINGS:
                    # A literal may only point at a secretKeyRef variable: the password of a URL
                    # is $(VAR), and anything else is nothing but $(VAR).
                    userinfo = re.search(r"//[^:/@]*:([^@]*)@", env["value"])
                    secret = userinfo.group(1) if userinfo else env["value"]
                    assert REFERENCE.match(secret), env


def assert_selectors_find_their_pods(objects: list[Manifest]) -> None:
    pod_labels = [
        owner["spec"]["template"]["metadata"]["labels"]
        for owner, _ in pod_specs(objects)
        if owner["kind"] in {"Deployment", "StatefulSet"}
    ]
    for obj in objects:
        if obj["kind"] == "Service":
            selector = obj["spec"]["selector"]
        elif obj["kind"] in {"PodDisruptionBudget", "Deployment", "StatefulSet"}:
            selector = obj["spec"]["selector"]["matchLabels"]
        else:
            continue
        assert any(selector.items() <= labels.items() for labels in pod_labels), obj["metadata"]
