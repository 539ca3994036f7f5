"""k8s/: the base and the dev/prod overlays render (with `kubectl kustomize` where it exists, and
with the Python subset in tests/deploy/kustomize.py always), are valid Kubernetes objects, and
pass the same pod policy as the chart."""

from __future__ import annotations

import base64
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.charts.helm import Manifest, of_kind, pod_specs
from tests.charts.policy import (
    assert_images_pinned,
    assert_locked_down,
    assert_no_secret_outside_secrets,
    assert_probes,
    assert_selectors_find_their_pods,
)
from tests.charts.validation import KUBERNETES_VERSIONS, validate
from tests.deploy.kustomize import UnsupportedKustomization, build

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "k8s"
TREES = [
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


def test_base_and_chart_run_the_same_commands_and_probes():
    from tests.charts.helm import HELMS, render

    chart = {
        d["metadata"]["name"].removeprefix("shop-"): d
        for d in of_kind(render(HELMS["helm3"]()), "Deployment")
    }
    base = {d["metadata"]["name"]: d for d in of_kind(build(K8S / "base"), "Deployment")}

    assert chart.keys() == base.keys()
    for name, deployment in base.items():
        ours = deployment["spec"]["template"]["spec"]
        theirs = chart[name]["spec"]["template"]["spec"]
        for key in ("command", "args", "livenessProbe", "readinessProbe", "startupProbe", "ports"):
            assert ours["containers"][0].get(key) == theirs["containers"][0].get(key), (name, key)
        assert ours["initContainers"][0]["args"][:3] == theirs["initContainers"][0]["args"][:3]
        assert ours["securityContext"] == theirs["securityContext"]


def test_the_subset_refuses_what_it_does_not_implement(tmp_path):
    (tmp_path / "kustomization.yaml").write_text("resources: []\nreplicas: [{name: x, count: 2}]\n")

    with pytest.raises(UnsupportedKustomization, match="replicas"):
        build(tmp_path)
