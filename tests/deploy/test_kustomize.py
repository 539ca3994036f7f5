"""k8s/: the CRDs, the base and the dev/prod overlays render (with `kubectl kustomize` where it
exists, and with the Python subset in tests/deploy/kustomize.py always), are valid Kubernetes
objects, pass the same pod policy as the chart, run what the chart runs, and deploy the operator
as `kramar operator` and operator/rbac.yaml ask."""

from __future__ import annotations

import base64
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import BaseModel

from tests.charts.helm import CHART, Manifest, named, of_kind, pod_specs
from tests.charts.operator_checks import (
    assert_role_is_operator_rbac,
    assert_runs_kramar_operator,
    assert_settings_fit_the_pod,
    assert_variables_are_settings,
    settings_of,
)
from tests.charts.policy import (
    assert_images_pinned,
    assert_locked_down,
    assert_no_secret_outside_secrets,
    assert_probes,
    assert_selectors_find_their_pods,
    holds_secret,
)
from tests.charts.validation import KUBERNETES_VERSIONS, validate
from tests.deploy.kustomize import UnsupportedKustomization, build
from tests.operator.manifests import PEERING_YAML

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "k8s"
TREES = [
    pytest.param(K8S / "crds", id="crds"),
    pytest.param(K8S / "base", id="base"),
    pytest.param(K8S / "overlays" / "dev", id="dev"),
    pytest.param(K8S / "overlays" / "prod", id="prod"),
]


def normalised(objects: list[Manifest]) -> list[Manifest]:
    for obj in objects:
        if obj["kind"] == "Secret":  # kustomize wraps long base64 lines
            obj["data"] = {k: "".join(v.split()) for k, v in obj.get("data", {}).items()}
    return sorted(objects, key=lambda o: (o["kind"], o["metadata"]["name"]))


@pytest.mark.parametrize("tree", TREES)
def test_the_python_subset_renders_what_kubectl_kustomize_renders(tree):
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("kubectl is not installed: the Python subset renders the overlays alone")
    done = subprocess.run(
        [kubectl, "kustomize", str(tree)], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr

    kustomized = [doc for doc in yaml.safe_load_all(done.stdout) if doc]
    assert normalised(build(tree)) == normalised(kustomized)


@pytest.mark.parametrize("kubernetes", KUBERNETES_VERSIONS)
@pytest.mark.parametrize("tree", TREES)
def test_every_object_of_every_overlay_is_valid(tree, kubernetes):
    for obj in build(tree):
        try:
            validate(obj, kubernetes)
        except Exception as error:
            pytest.fail(f"{obj['kind']} {obj['metadata']['name']}: {error}")


@pytest.mark.parametrize("tree", TREES)
def test_every_pod_passes_the_charts_policy(tree):
    objects = build(tree)

    assert_locked_down(objects)
    assert_probes(objects)
    assert_selectors_find_their_pods(objects)
    assert_no_secret_outside_secrets(objects, set())


def test_prod_pins_every_image_by_digest_and_keeps_no_secret_in_git():
    objects = build(K8S / "overlays" / "prod")

    assert_images_pinned(objects)
    assert all(
        "@sha256:" in c["image"] for _, spec in pod_specs(objects) for c in spec["containers"]
    )
    assert not of_kind(objects, "Secret"), "prod Secrets are made outside git"
    assert {obj["metadata"]["namespace"] for obj in objects} == {"kramar"}


def test_dev_runs_its_own_pgvector_and_redis_with_the_charts_images():
    objects = build(K8S / "overlays" / "dev")
    secret = of_kind(objects, "Secret")[0]
    url = base64.b64decode(secret["data"]["KRAMAR_DATABASE_URL"]).decode()

    assert_images_pinned(objects)
    assert {s["metadata"]["name"] for s in of_kind(objects, "StatefulSet")} == {
        "kramar-postgresql",
        "kramar-redis",
    }
    assert "@kramar-postgresql:5432/" in url
    assert base64.b64decode(secret["data"]["postgres-password"]).decode() in url


def test_base_and_chart_run_the_same_commands_probes_and_settings(monkeypatch, tmp_path):
    from tests.charts.helm import HELMS, render

    charted = render(HELMS["helm3"]())
    chart = {d["metadata"]["name"].removeprefix("shop-"): d for d in of_kind(charted, "Deployment")}
    based = build(K8S / "base")
    base = {d["metadata"]["name"]: d for d in of_kind(based, "Deployment")}

    assert chart.keys() == base.keys() == {"kramar-web", "kramar-worker", "kramar-operator"}
    for name, deployment in base.items():
        ours = deployment["spec"]["template"]["spec"]
        theirs = chart[name]["spec"]["template"]["spec"]
        for key in ("command", "args", "livenessProbe", "readinessProbe", "startupProbe", "ports"):
            assert ours["containers"][0].get(key) == theirs["containers"][0].get(key), (name, key)
        assert ours["initContainers"][0]["args"][:3] == theirs["initContainers"][0]["args"][:3]
        assert ours["securityContext"] == theirs["securityContext"]
        assert deployment["spec"]["strategy"] == chart[name]["spec"]["strategy"]
        # The same settings, however each gets them (ConfigMap, env, $(VAR), downward API).
        settings = [
            settings_of(ours["containers"][0], based, monkeypatch, tmp_path),
            settings_of(theirs["containers"][0], charted, monkeypatch, tmp_path),
        ]
        for group in ("operator", "telegram", "rag", "vision"):
            mine, its = (plain(getattr(s, group)) for s in settings)
            if group == "operator":
                # Names follow each tree's naming: kramar-operator here, shop-kramar-operator there.
                mine["peering"], its["peering"] = bool(mine["peering"]), bool(its["peering"])
            assert mine == its, (name, group)
        assert {s.log_format for s in settings} == {"json"}
        assert env_names(ours["containers"][0]) == env_names(theirs["containers"][0]), name


def plain(settings: BaseModel) -> dict[str, Any]:
    """A settings group without its secrets (each tree holds its own)."""
    fields = type(settings).model_fields
    return {
        name: value
        for name, value in settings.model_dump().items()
        if not holds_secret(fields[name].annotation)
    }


def env_names(container: dict[str, Any]) -> set[str]:
    """Variable names a container sets itself, less how each tree wires its secrets."""
    wiring = {"DATABASE_PASSWORD", "REDIS_PASSWORD", "KRAMAR_DATABASE_URL", "KRAMAR_REDIS_URL"}
    wiring |= {"KRAMAR_RAG_OPENAI_API_KEY", "POD_NAMESPACE"}
    return {env["name"] for env in container.get("env", [])} - wiring


def test_the_base_deploys_the_operator_as_kramar_operator_and_its_rbac_ask(monkeypatch, tmp_path):
    objects = build(K8S / "overlays" / "prod")
    deployment = named(objects, "Deployment", "kramar-operator")
    pod = deployment["spec"]["template"]["spec"]
    container = pod["containers"][0]
    settings = settings_of(container, objects, monkeypatch, tmp_path, namespace="kramar")

    assert_runs_kramar_operator(container)
    assert_variables_are_settings(container, objects)
    assert_settings_fit_the_pod(container, settings.operator)
    assert settings.operator.namespaces == ["kramar"], "its own namespace, from the pod"
    assert deployment["spec"]["replicas"] == 1
    assert container["resources"] == {
        "requests": {"cpu": "50m", "memory": "256Mi"},
        "limits": {"cpu": "500m", "memory": "512Mi"},
    }, "operator/deploy-requirements.md (and the chart's default)"
    assert pod["serviceAccountName"] == "kramar-operator"
    assert pod["automountServiceAccountToken"] is True
    assert_role_is_operator_rbac(named(objects, "Role", "kramar-operator"), peering=True)
    binding = named(objects, "RoleBinding", "kramar-operator")
    assert binding["roleRef"]["name"] == "kramar-operator"
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": "kramar-operator", "namespace": "kramar"}
    ]
    peering = named(objects, "KopfPeering", "kramar-operator")
    assert peering["metadata"]["namespace"] == "kramar"
    assert peering["metadata"]["name"] == settings.operator.peering
    others = [spec for owner, spec in pod_specs(objects) if owner is not deployment]
    assert all(spec.get("automountServiceAccountToken") is False for spec in others)
    for name in ("kramar-web", "kramar-worker"):
        web = named(objects, "Deployment", name)["spec"]["template"]["spec"]["containers"][0]
        assert settings_of(web, objects, monkeypatch, tmp_path).rag.sync == "operator"


def test_the_peering_crd_is_the_operators_and_the_charts():
    (crd,) = build(K8S / "crds")
    operator, _peering = yaml.safe_load_all(PEERING_YAML.read_text(encoding="utf-8"))
    chart = yaml.safe_load((CHART / "crds" / "kopfpeerings.yaml").read_text(encoding="utf-8"))

    assert crd == operator == chart


def test_the_subset_moves_role_binding_subjects_as_kustomize_does(tmp_path):
    """Only subjects that are the kustomization's own ServiceAccounts, in no namespace or in
    "default", follow `namespace` (what kubectl kustomize 5.5 printed for these files)."""
    (tmp_path / "base").mkdir()
    (tmp_path / "base" / "kustomization.yaml").write_text("resources: [objects.yaml]\n")
    account = {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "op"}}
    binding = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "RoleBinding",
        "metadata": {"name": "op"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "op"},
        "subjects": [
            {"kind": "ServiceAccount", "name": "op"},
            {"kind": "ServiceAccount", "name": "other"},
            {"kind": "ServiceAccount", "name": "op", "namespace": "elsewhere"},
            {"kind": "ServiceAccount", "name": "stranger", "namespace": "default"},
        ],
    }
    (tmp_path / "base" / "objects.yaml").write_text(yaml.safe_dump_all([account, binding]))
    (tmp_path / "kustomization.yaml").write_text("namespace: shop\nresources: [base]\n")

    subjects = named(build(tmp_path), "RoleBinding", "op")["subjects"]

    assert subjects == [
        {"kind": "ServiceAccount", "name": "op", "namespace": "shop"},
        {"kind": "ServiceAccount", "name": "other"},
        {"kind": "ServiceAccount", "name": "op", "namespace": "elsewhere"},
        {"kind": "ServiceAccount", "name": "stranger", "namespace": "default"},
    ]


def test_the_subset_refuses_what_it_does_not_implement(tmp_path):
    (tmp_path / "kustomization.yaml").write_text("resources: []\nreplicas: [{name: x, count: 2}]\n")

    with pytest.raises(UnsupportedKustomization, match="replicas"):
        build(tmp_path)
