"""Every chart shape (ci/*-values.yaml) lints strictly and renders, with helm 3 and Helm 4, into
objects that are valid offline: built-in kinds against the Kubernetes API schemas
(kubernetes-validate, unknown fields rejected), custom resources against their schemas."""

from __future__ import annotations

import jsonschema  # type: ignore[import-untyped]
import pytest

from tests.charts.helm import CHART, CI_VALUES, HELMS, Manifest, of_kind, render, run, values_args
from tests.charts.validation import KUBERNETES_VERSIONS, validate

SHAPES = [pytest.param(path, id=path.name.removesuffix("-values.yaml")) for path in CI_VALUES]
HELM_IDS = list(HELMS)


@pytest.mark.parametrize("helm_id", HELM_IDS)
@pytest.mark.parametrize("values", SHAPES)
def test_each_shape_lints_strictly(helm_id, values):
    done = run(HELMS[helm_id](), "lint", "--strict", str(CHART), *values_args(values))

    assert done.returncode == 0, f"lint failed:\n{done.stdout}{done.stderr}"


@pytest.mark.parametrize("kubernetes", KUBERNETES_VERSIONS)
@pytest.mark.parametrize("helm_id", HELM_IDS)
@pytest.mark.parametrize("values", SHAPES)
def test_every_rendered_object_is_valid(helm_id, values, kubernetes):
    objects = render(HELMS[helm_id](), *values_args(values), crds=True)

    assert objects
    for obj in objects:
        try:
            validate(obj, kubernetes)
        except Exception as error:
            pytest.fail(f"{obj['kind']} {obj['metadata']['name']}: {error}")


@pytest.mark.parametrize("values", SHAPES)
def test_helm_3_and_helm_4_render_the_same_objects(values):
    """Apart from the objects behind CRD checks (the SDK takes no --api-versions) and generated
    secrets, the two Helm generations agree."""

    def comparable(objects: list[Manifest]) -> list[Manifest]:
        kept = [o for o in objects if not o["apiVersion"].startswith("monitoring.coreos.com")]
        for obj in kept:
            if obj["kind"] == "Secret":
                obj["data"] = sorted(obj.get("data", {}))  # keys only: values may be random
            annotations = (
                obj["spec"]["template"]["metadata"].get("annotations", {})
                if (obj["kind"] in {"Deployment", "StatefulSet"})
                else {}
            )
            annotations.pop("checksum/secret", None)
        return sorted(kept, key=lambda o: (o["kind"], o["metadata"]["name"]))

    helm3 = comparable(render(HELMS["helm3"](), *values_args(values), monitoring_crds=False))
    helm4 = comparable(render(HELMS["helm4"](), *values_args(values)))

    assert helm3 == helm4


def test_custom_resource_schemas_reject_an_unknown_field():
    objects = render(HELMS["helm3"](), "--set", "monitoring.alertmanagerConfig.enabled=true")
    monitor = of_kind(objects, "ServiceMonitor")[0]
    monitor["spec"]["endpoints"][0]["intervall"] = "30s"

    with pytest.raises(jsonschema.ValidationError):
        validate(monitor, KUBERNETES_VERSIONS[0])


def test_kubernetes_validation_rejects_an_unknown_field():
    deployment = of_kind(render(HELMS["helm3"]()), "Deployment")[0]
    deployment["spec"]["template"]["spec"]["containers"][0]["readynessProbe"] = {}

    with pytest.raises(Exception, match="readynessProbe"):
        validate(deployment, KUBERNETES_VERSIONS[0])
