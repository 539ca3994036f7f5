"""What a platform team checks before it installs a chart, over every pod of every shape: non-root,
read-only root filesystem, no privilege escalation, dropped capabilities, seccomp, limits,
probes, pinned images, no secret value in a ConfigMap or an env literal, and hooks that cannot
deadlock an install."""

from __future__ import annotations

import pytest
import yaml

from tests.charts.helm import (
    CHART,
    CI_VALUES,
    HELMS,
    Manifest,
    named,
    of_kind,
    render,
    values_args,
)
from tests.charts.policy import (
    assert_images_pinned,
    assert_locked_down,
    assert_no_secret_outside_secrets,
    assert_probes,
    assert_selectors_find_their_pods,
    containers,
)

SHAPES = [pytest.param(path, id=path.name.removesuffix("-values.yaml")) for path in CI_VALUES]


def shape(values) -> list[Manifest]:
    return render(HELMS["helm3"](), *values_args(values))


def hook(obj: Manifest) -> str | None:
    return (obj["metadata"].get("annotations") or {}).get("helm.sh/hook")


@pytest.mark.parametrize("values", SHAPES)
def test_every_container_runs_locked_down(values):
    assert_locked_down(shape(values))


@pytest.mark.parametrize("values", SHAPES)
def test_every_long_running_container_has_probes(values):
    assert_probes(shape(values))


@pytest.mark.parametrize("values", SHAPES)
def test_every_image_is_pinned(values):
    assert_images_pinned(shape(values))


@pytest.mark.parametrize("values", SHAPES)
def test_no_secret_value_outside_a_secret(values):
    inputs = yaml.safe_load(values.read_text(encoding="utf-8")) or {}
    given = {v for k, v in (inputs.get("secrets") or {}).items() if k != "existingSecret"}
    given |= {
        (inputs.get(group) or {}).get("url") for group in ("externalDatabase", "externalRedis")
    }

    assert_no_secret_outside_secrets(shape(values), {v for v in given if isinstance(v, str)})


def test_generated_passwords_differ_per_render_but_are_read_back_with_lookup():
    """Offline, lookup finds nothing and a new value is made; in a cluster the live Secret's value
    is read back (the template takes it first), so upgrades never change a password."""
    first = named(render(HELMS["helm3"](), "--set", "web.replicas=3"), "Secret", "shop-kramar")
    second = named(render(HELMS["helm3"](), "--set", "web.replicas=4"), "Secret", "shop-kramar")
    template = CHART
    helpers = (template / "templates" / "_helpers.tpl").read_text(encoding="utf-8")

    assert first["data"]["KRAMAR_ADMIN_TOKEN"] != second["data"]["KRAMAR_ADMIN_TOKEN"]
    assert 'lookup "v1" "Secret"' in helpers
    assert helpers.index("lookup") < helpers.index("randAlphaNum")


@pytest.mark.parametrize("values", SHAPES)
def test_hooks_cannot_deadlock_an_install(values):
    objects = shape(values)
    hooks = {(obj["kind"], obj["metadata"]["name"]): obj for obj in objects if hook(obj)}
    made_by_chart = {(o["kind"], o["metadata"]["name"]) for o in objects if not hook(o)}

    for obj in hooks.values():
        events = set((hook(obj) or "").split(","))
        # A post-install hook Job blocks `helm install --wait` and Argo CD waits on it forever.
        assert not events & {"post-install", "post-upgrade"}, obj["metadata"]["name"]
    for job in of_kind(objects, "Job"):
        if not hook(job):
            continue
        weight = int(job["metadata"]["annotations"].get("helm.sh/hook-weight", "0"))
        spec = job["spec"]["template"]["spec"]
        assert ("ServiceAccount", spec.get("serviceAccountName")) not in made_by_chart
        for container in containers(spec):
            refs = [
                env["valueFrom"]["secretKeyRef"]["name"]
                for env in container.get("env", [])
                if "secretKeyRef" in env.get("valueFrom", {})
            ]
            refs += [
                source.get("secretRef", source.get("configMapRef", {})).get("name")
                for source in container.get("envFrom", [])
            ]
            for ref in refs:
                # A pre-install hook runs before the release's own objects exist: it may use only
                # hook objects of a lower weight, or Secrets that existed before the release.
                assert ("Secret", ref) not in made_by_chart, (job["metadata"]["name"], ref)
                assert ("ConfigMap", ref) not in made_by_chart, (job["metadata"]["name"], ref)
                if ("Secret", ref) in hooks:
                    annotations = hooks["Secret", ref]["metadata"]["annotations"]
                    assert int(annotations["helm.sh/hook-weight"]) < weight


def test_bundled_database_migrates_in_a_plain_job_and_the_pods_wait_for_the_schema():
    objects = render(HELMS["helm3"](), "--set", "operator.enabled=true")
    jobs = of_kind(objects, "Job")

    assert len(jobs) == 1 and hook(jobs[0]) is None
    assert jobs[0]["spec"]["template"]["spec"]["containers"][0]["args"][:2] == ["migrate", "--wait"]
    for deployment in of_kind(objects, "Deployment"):
        init = deployment["spec"]["template"]["spec"]["initContainers"]
        assert [c["name"] for c in init] == ["wait-for-schema"]
        assert init[0]["args"][:3] == ["migrate", "--check", "--wait"]


def test_external_database_migrates_in_a_pre_install_and_pre_upgrade_hook():
    objects = render(
        HELMS["helm3"](),
        "--set",
        "postgresql.enabled=false",
        "--set",
        "externalDatabase.url=postgresql+asyncpg://u:pw@db/kramar",
    )
    job = of_kind(objects, "Job")[0]

    assert hook(job) == "pre-install,pre-upgrade"
    assert "before-hook-creation" in job["metadata"]["annotations"]["helm.sh/hook-delete-policy"]
    assert not of_kind(objects, "StatefulSet") or all(
        s["metadata"]["name"].endswith("redis") for s in of_kind(objects, "StatefulSet")
    )


def test_no_database_at_all_is_refused():
    from tests.charts.helm import run

    done = run(
        HELMS["helm3"](), "template", "shop", str(CHART), "--set", "postgresql.enabled=false"
    )

    assert done.returncode != 0
    assert "kramar needs a database" in done.stderr


def test_web_only_acknowledges_and_workers_work_the_inbox_without_a_service():
    objects = shape(CI_VALUES[0])
    workers = {
        d["metadata"]["name"]: next(
            e["value"]
            for e in d["spec"]["template"]["spec"]["containers"][0]["env"]
            if e["name"] == "KRAMAR_TELEGRAM_WORKERS"
        )
        for d in of_kind(objects, "Deployment")
        if d["metadata"]["name"] != "shop-kramar-operator"
    }
    selectors = [s["spec"]["selector"] for s in of_kind(objects, "Service")]

    assert workers == {"shop-kramar-web": "0", "shop-kramar-worker": "8"}
    assert not [s for s in selectors if s.get("app.kubernetes.io/component") == "worker"]
    assert {"app.kubernetes.io/component": "web"}.items() <= selectors[-1].items() or any(
        s.get("app.kubernetes.io/component") == "web" for s in selectors
    )


def test_a_config_change_rolls_the_pods():
    before = of_kind(render(HELMS["helm3"]()), "Deployment")[0]
    after = of_kind(render(HELMS["helm3"](), "--set", "config.logLevel=DEBUG"), "Deployment")[0]

    def checksum(deployment: Manifest) -> str:
        annotations: dict[str, str] = deployment["spec"]["template"]["metadata"]["annotations"]
        return annotations["checksum/config"]

    assert checksum(before) != checksum(after)


def test_monitoring_objects_render_only_where_their_crds_exist():
    on = render(HELMS["helm3"](), "--set", "monitoring.alertmanagerConfig.enabled=true")
    off = render(
        HELMS["helm3"](),
        "--set",
        "monitoring.alertmanagerConfig.enabled=true",
        monitoring_crds=False,
    )

    kinds = {"ServiceMonitor", "PodMonitor", "PrometheusRule", "AlertmanagerConfig"}
    assert kinds <= {obj["kind"] for obj in on}
    assert not kinds & {obj["kind"] for obj in off}


def test_alertmanager_routes_to_the_apps_webhook_with_its_token():
    objects = render(HELMS["helm3"](), "--set", "monitoring.alertmanagerConfig.enabled=true")
    receiver = of_kind(objects, "AlertmanagerConfig")[0]["spec"]["receivers"][0]
    webhook = receiver["webhookConfigs"][0]

    assert webhook["url"] == "http://shop-kramar.shop.svc:80/alerts/alertmanager"
    credentials = webhook["httpConfig"]["authorization"]["credentials"]
    assert credentials == {"name": "shop-kramar", "key": "KRAMAR_ALERTS_TOKEN"}
    assert "KRAMAR_ALERTS_TOKEN" in named(objects, "Secret", "shop-kramar")["data"]


def test_catalog_configmap_from_values_is_a_catalog_file_the_importer_accepts(tmp_path):
    from app.catalog.fileformat import read_catalog

    objects = shape(next(p for p in CI_VALUES if p.name == "operator-values.yaml"))
    catalog = named(objects, "ConfigMap", "shop-kramar-catalog")
    path = tmp_path / "products_master.yaml"
    path.write_text(catalog["data"]["products_master.yaml"], encoding="utf-8")

    parsed = read_catalog(path, max_bytes=1_000_000)

    assert catalog["metadata"]["labels"]["kramar.io/catalog"] == "true"
    assert parsed.problems == []
    assert [source.product.sku for source in parsed.products] == ["KR-DEMO-001"]


@pytest.mark.parametrize("values", SHAPES)
def test_selectors_find_their_pods(values):
    assert_selectors_find_their_pods(shape(values))
