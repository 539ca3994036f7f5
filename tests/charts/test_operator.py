"""The chart's operator is what `kramar operator` really takes: its command line parses with the
real click command, every KRAMAR_* variable is a setting app/config.py reads, the settings it
makes agree with the pod's ports, probes and KopfPeering objects and with the app's database and
embedder, and its Role is operator/rbac.yaml. So the chart and the operator cannot drift apart.
"""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from tests.charts.helm import (
    CHART,
    CI_VALUES,
    HELMS,
    Manifest,
    env_sources,
    env_values,
    named,
    of_kind,
    pod_specs,
    render,
    values_args,
)
from tests.charts.operator_checks import (
    assert_role_is_operator_rbac,
    assert_runs_kramar_operator,
    assert_settings_fit_the_pod,
    assert_variables_are_settings,
    settings_of,
)
from tests.operator.manifests import PEERING_YAML

OPERATOR = "shop-kramar-operator"


def operator_on(path) -> bool:
    values = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    default = yaml.safe_load((CHART / "values.yaml").read_text(encoding="utf-8"))
    return bool({**default["operator"], **(values.get("operator") or {})}["enabled"])


SHAPES = [
    pytest.param(path, id=path.name.removesuffix("-values.yaml"))
    for path in CI_VALUES
    if operator_on(path)
]


def shape(values) -> list[Manifest]:
    return render(HELMS["helm3"](), *values_args(values))


def operator_container(objects: list[Manifest]) -> dict[str, Any]:
    deployment = named(objects, "Deployment", OPERATOR)
    container: dict[str, Any] = deployment["spec"]["template"]["spec"]["containers"][0]
    return container


def test_the_shapes_include_the_operator_on_and_off():
    assert SHAPES and len(SHAPES) < len(CI_VALUES)


@pytest.mark.parametrize("values", SHAPES)
def test_the_operators_command_line_is_one_kramar_operator_takes(values):
    assert_runs_kramar_operator(operator_container(shape(values)))


@pytest.mark.parametrize("values", SHAPES)
def test_every_operator_variable_is_a_setting_kramar_reads(values):
    objects = shape(values)

    assert_variables_are_settings(operator_container(objects), objects)


def watched(values) -> list[str]:
    inputs = yaml.safe_load(values.read_text(encoding="utf-8")) or {}
    return list((inputs.get("operator") or {}).get("watchNamespaces") or ["shop"])


@pytest.mark.parametrize("values", SHAPES)
def test_the_operators_settings_agree_with_its_ports_probes_and_peering(
    values, monkeypatch, tmp_path
):
    objects = shape(values)
    container = operator_container(objects)
    settings = settings_of(container, objects, monkeypatch, tmp_path).operator
    peerings = of_kind(objects, "KopfPeering")

    assert_settings_fit_the_pod(container, settings)
    assert settings.namespaces == watched(values)
    if settings.peering:
        assert sorted((p["metadata"]["namespace"], p["metadata"]["name"]) for p in peerings) == [
            (namespace, settings.peering) for namespace in sorted(watched(values))
        ]
    else:
        assert not peerings


@pytest.mark.parametrize("values", SHAPES)
def test_the_operator_uses_the_apps_database_and_embedder(values, monkeypatch, tmp_path):
    objects = shape(values)
    operator = operator_container(objects)
    web = named(objects, "Deployment", "shop-kramar-web")["spec"]["template"]["spec"]
    theirs, ours = env_sources(web["containers"][0], objects), env_sources(operator, objects)
    opaque = {
        source["secretRef"]["name"]
        for source in web["containers"][0]["envFrom"]
        if "secretRef" in source
    } - {secret["metadata"]["name"] for secret in of_kind(objects, "Secret")}
    app = settings_of(web["containers"][0], objects, monkeypatch, tmp_path)
    own = settings_of(operator, objects, monkeypatch, tmp_path)

    for name in ("KRAMAR_DATABASE_URL", "DATABASE_PASSWORD"):
        assert ours.get(name) == theirs.get(name), name
    # The embedding key from the app's Secret (keys of a Secret made outside the chart are
    # unknown here: then from that Secret under the variable's own name).
    key = ours.get("KRAMAR_RAG_OPENAI_API_KEY")
    assert key == theirs.get("KRAMAR_RAG_OPENAI_API_KEY") or (
        key is not None and key[1] in opaque and key[2] == "KRAMAR_RAG_OPENAI_API_KEY"
    )
    assert own.rag.model_dump(exclude={"sync", "openai_api_key"}) == app.rag.model_dump(
        exclude={"sync", "openai_api_key"}
    )
    assert own.vision == app.vision
    assert (own.max_catalog_bytes, own.max_photo_bytes) == (
        app.max_catalog_bytes,
        app.max_photo_bytes,
    )
    assert own.log_format == app.log_format == "json"
    # The one pod with a Kubernetes token holds no bot token, model keys or admin token.
    assert not [source for source in operator.get("envFrom", []) if "secretRef" in source]
    assert own.telegram.bot_token is None and own.admin_token is None and not own.llm.links


@pytest.mark.parametrize("values", SHAPES)
def test_the_operators_role_is_operator_rbac_yaml_in_each_watched_namespace(values):
    objects = shape(values)
    peering = env_values(operator_container(objects), objects)["KRAMAR_OPERATOR_PEERING"]
    roles, bindings = of_kind(objects, "Role"), of_kind(objects, "RoleBinding")

    assert not of_kind(objects, "ClusterRole") and not of_kind(objects, "ClusterRoleBinding")
    assert sorted(role["metadata"]["namespace"] for role in roles) == sorted(watched(values))
    for role in roles:
        assert role["metadata"]["name"] == OPERATOR
        assert_role_is_operator_rbac(role, peering=bool(peering))
    assert sorted(b["metadata"]["namespace"] for b in bindings) == sorted(watched(values))
    for binding in bindings:
        assert binding["roleRef"] == {
            "apiGroup": "rbac.authorization.k8s.io",
            "kind": "Role",
            "name": OPERATOR,
        }
        assert binding["subjects"] == [
            {"kind": "ServiceAccount", "name": OPERATOR, "namespace": "shop"}
        ]


@pytest.mark.parametrize("values", SHAPES)
def test_only_the_operator_pod_gets_a_kubernetes_token(values):
    objects = shape(values)
    deployment = named(objects, "Deployment", OPERATOR)
    pod = deployment["spec"]["template"]["spec"]

    assert deployment["spec"]["replicas"] == 1
    assert deployment["spec"]["strategy"] == {"type": "Recreate"}
    assert pod["serviceAccountName"] == OPERATOR
    assert pod["automountServiceAccountToken"] is True
    assert named(objects, "ServiceAccount", OPERATOR)["automountServiceAccountToken"] is False
    others = [spec for owner, spec in pod_specs(objects) if owner is not deployment]
    assert all(spec.get("automountServiceAccountToken") is False for spec in others)


def test_the_charts_peering_crd_is_the_operators():
    chart = yaml.safe_load((CHART / "crds" / "kopfpeerings.yaml").read_text(encoding="utf-8"))
    operator, _peering = yaml.safe_load_all(PEERING_YAML.read_text(encoding="utf-8"))

    assert chart == operator


def rag_sync(deployment: Manifest) -> str | None:
    env = deployment["spec"]["template"]["spec"]["containers"][0]["env"]
    return next((e["value"] for e in env if e["name"] == "KRAMAR_RAG_SYNC"), None)


def test_with_the_operator_the_app_leaves_the_index_sync_to_it():
    objects = render(HELMS["helm3"]())

    for name in ("shop-kramar-web", "shop-kramar-worker"):
        assert rag_sync(named(objects, "Deployment", name)) == "operator"


def test_without_the_operator_the_app_syncs_the_index_itself_and_nothing_of_it_renders(
    monkeypatch, tmp_path
):
    objects = render(HELMS["helm3"](), "--set", "operator.enabled=false")
    operator_objects = [
        obj
        for obj in objects
        if obj["metadata"].get("labels", {}).get("app.kubernetes.io/component") == "operator"
    ]

    assert operator_objects == []
    assert not of_kind(objects, "Role") and not of_kind(objects, "KopfPeering")
    for name in ("shop-kramar-web", "shop-kramar-worker"):
        web = named(objects, "Deployment", name)
        assert rag_sync(web) is None
        container = web["spec"]["template"]["spec"]["containers"][0]
        assert settings_of(container, objects, monkeypatch, tmp_path).rag.sync == "inprocess"


def test_the_operators_metrics_are_scraped_where_prometheus_operator_runs():
    objects = render(HELMS["helm3"]())
    monitor = named(objects, "PodMonitor", OPERATOR)
    pod = named(objects, "Deployment", OPERATOR)["spec"]["template"]["metadata"]["labels"]
    ports = [port["name"] for port in operator_container(objects)["ports"]]

    assert monitor["spec"]["selector"]["matchLabels"].items() <= pod.items()
    assert [(e["port"], e["path"]) for e in monitor["spec"]["podMetricsEndpoints"]] == [
        ("metrics", "/metrics")
    ]
    assert "metrics" in ports
    assert not [
        obj
        for obj in render(HELMS["helm3"](), "--set", "monitoring.serviceMonitor.enabled=false")
        if obj["kind"] == "PodMonitor"
    ]
    assert not of_kind(render(HELMS["helm3"](), monitoring_crds=False), "PodMonitor")


def test_the_operators_network_policy_lets_in_only_its_metrics():
    objects = render(HELMS["helm3"](), "--set", "networkPolicy.enabled=true")
    policy = named(objects, "NetworkPolicy", OPERATOR)
    pod = named(objects, "Deployment", OPERATOR)["spec"]["template"]["metadata"]["labels"]

    assert policy["spec"]["podSelector"]["matchLabels"].items() <= pod.items()
    assert policy["spec"]["ingress"] == [{"ports": [{"port": "metrics", "protocol": "TCP"}]}]


def test_equal_liveness_and_metrics_ports_are_refused():
    from tests.charts.helm import run

    done = run(
        HELMS["helm3"](),
        "template",
        "shop",
        str(CHART),
        "--set",
        "operator.livenessPort=9090",
    )

    assert done.returncode != 0
    assert "must differ" in done.stderr
