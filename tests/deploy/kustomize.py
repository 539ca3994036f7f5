"""The subset of kustomize that k8s/ uses, in Python, so `make test` renders the overlays where
`kubectl kustomize` is missing (it is not installable from Debian or PyPI). Where kubectl is
present, tests/deploy/test_kustomize.py checks that both render the same objects.

Supported, and refused otherwise: `resources` (files and folders), `namespace` (also on the
ServiceAccount subjects of RoleBindings, as kustomize's default does), `labels` (pairs,
metadata only), `images` (newName, newTag, digest), `patches` with a `path` (strategic merge:
maps merged, lists of named items merged by name, other lists replaced), and `secretGenerator` /
`configMapGenerator` with `literals` under `generatorOptions.disableNameSuffixHash: true`.
"""

from __future__ import annotations

import base64
import copy
from pathlib import Path
from typing import Any

import yaml

Manifest = dict[str, Any]
KNOWN = {
    "apiVersion",
    "kind",
    "resources",
    "namespace",
    "labels",
    "images",
    "patches",
    "secretGenerator",
    "configMapGenerator",
    "generatorOptions",
}
CLUSTER_SCOPED = {"Namespace", "ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition"}


class UnsupportedKustomization(ValueError):
    """A kustomization uses a feature outside this subset."""


def build(folder: Path) -> list[Manifest]:
    """The objects `kubectl kustomize FOLDER` prints, for the supported subset."""
    spec = yaml.safe_load((folder / "kustomization.yaml").read_text(encoding="utf-8"))
    unknown = set(spec) - KNOWN
    if unknown:
        raise UnsupportedKustomization(f"{folder}: {sorted(unknown)}")
    objects: list[Manifest] = []
    for entry in spec.get("resources", []):
        path = folder / entry
        if path.is_dir():
            objects += build(path)
        else:
            objects += [doc for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")) if doc]
    objects += generated(spec, folder)
    for patch_entry in spec.get("patches", []):
        if set(patch_entry) != {"path"}:
            raise UnsupportedKustomization(f"{folder}: patch {patch_entry}")
        text = (folder / patch_entry["path"]).read_text(encoding="utf-8")
        for patch in (doc for doc in yaml.safe_load_all(text) if doc):
            target = find(objects, patch["kind"], patch["metadata"]["name"])
            merged = merge(target, patch)
            target.clear()
            target.update(merged)
    if "namespace" in spec:
        accounts = {o["metadata"]["name"] for o in objects if o["kind"] == "ServiceAccount"}
        for obj in objects:
            if obj["kind"] not in CLUSTER_SCOPED:
                obj["metadata"]["namespace"] = spec["namespace"]
            if obj["kind"].endswith("RoleBinding"):
                move_subjects(obj["subjects"], accounts, spec["namespace"])
    for label_set in spec.get("labels", []):
        if label_set.get("includeSelectors") or label_set.get("includeTemplates"):
            raise UnsupportedKustomization(f"{folder}: labels into selectors or templates")
        for obj in objects:
            obj["metadata"].setdefault("labels", {}).update(label_set["pairs"])
    for image in spec.get("images", []):
        for obj in objects:
            retag(obj, image)
    return objects


def move_subjects(subjects: list[dict[str, str]], accounts: set[str], namespace: str) -> None:
    """As kustomize's default (setRoleBindingSubjects: defaultOnly): subjects that are
    ServiceAccounts of this kustomization, in no namespace or in "default", move along."""
    for subject in subjects:
        ours = subject["kind"] == "ServiceAccount" and subject["name"] in accounts
        if ours and subject.get("namespace", "default") == "default":
            subject["namespace"] = namespace


def generated(spec: dict[str, Any], folder: Path) -> list[Manifest]:
    generators = [("Secret", g) for g in spec.get("secretGenerator", [])]
    generators += [("ConfigMap", g) for g in spec.get("configMapGenerator", [])]
    if generators and not spec.get("generatorOptions", {}).get("disableNameSuffixHash"):
        raise UnsupportedKustomization(f"{folder}: generators need disableNameSuffixHash")
    made = []
    for kind, generator in generators:
        if set(generator) - {"name", "literals"}:
            raise UnsupportedKustomization(f"{folder}: generator {generator['name']}")
        pairs = dict(literal.split("=", 1) for literal in generator.get("literals", []))
        obj: Manifest = {"apiVersion": "v1", "kind": kind, "metadata": {"name": generator["name"]}}
        if kind == "Secret":
            obj["type"] = "Opaque"
            obj["data"] = {k: base64.b64encode(v.encode()).decode() for k, v in pairs.items()}
        else:
            obj["data"] = pairs
        made.append(obj)
    return made


def find(objects: list[Manifest], kind: str, name: str) -> Manifest:
    found = [o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name]
    if len(found) != 1:
        raise UnsupportedKustomization(f"patch target {kind}/{name}: {len(found)} matches")
    return found[0]


def merge(base: Any, patch: Any) -> Any:
    """Strategic merge of `patch` into `base` for maps and lists of named items."""
    if isinstance(base, dict) and isinstance(patch, dict):
        merged = copy.deepcopy(base)
        for key, value in patch.items():
            merged[key] = merge(base[key], value) if key in base else copy.deepcopy(value)
        return merged
    if (
        isinstance(base, list)
        and isinstance(patch, list)
        and all(isinstance(item, dict) and "name" in item for item in base + patch)
    ):
        out = copy.deepcopy(base)
        for item in patch:
            index = next((i for i, old in enumerate(out) if old["name"] == item["name"]), None)
            if index is None:
                out.append(copy.deepcopy(item))
            else:
                out[index] = merge(out[index], item)
        return out
    return copy.deepcopy(patch)


def retag(obj: Manifest, image: dict[str, str]) -> None:
    template = obj.get("spec", {}).get("template", {}).get("spec")
    pod = template if template is not None else (obj["spec"] if obj["kind"] == "Pod" else None)
    if pod is None:
        return
    for container in [*pod.get("initContainers", []), *pod.get("containers", [])]:
        name = container["image"].split("@")[0]
        repository = name.rsplit(":", 1)[0] if ":" in name.split("/")[-1] else name
        if repository != image["name"]:
            continue
        new = image.get("newName", repository)
        tag = image.get("newTag")
        if tag is None and ":" in name.split("/")[-1]:
            tag = name.rsplit(":", 1)[1]
        ref = f"{new}:{tag}" if tag else new
        if image.get("digest"):
            ref += f"@{image['digest']}"
        container["image"] = ref
