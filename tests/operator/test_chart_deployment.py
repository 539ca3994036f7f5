"""The operator as the chart deploys it: the Deployment's own command line and environment
(`helm template`, with the database swapped for the test's) run as a process against kmock, with
the chart's KopfPeering declared, sync a catalog ConfigMap, answer the chart's probe and serve
metrics on the chart's ports, name themselves in the peering by the pod's name, and stop cleanly
on SIGTERM."""

from __future__ import annotations

from tests.charts.helm import HELMS, env_values, named, render
from tests.operator.catalogs import NAMESPACE
from tests.operator.conftest import PEERINGS, Kube, eventually
from tests.operator.test_cli import sync_in_a_process
from tests.servers.redis import free_port

OPERATOR = "shop-kramar-operator"
POD = f"{OPERATOR}-5d8f7c9b6-x2x4k"


def peers(kube: Kube, peering: str) -> list[str]:
    """The operators that keep their keep-alive in the KopfPeering's status."""
    return list(kube.kmock.objects[PEERINGS, NAMESPACE, peering].raw.get("status") or {})


async def test_the_charts_operator_deployment_runs_and_syncs(kube, operator_env):
    liveness, metrics = free_port(), free_port()
    objects = render(
        HELMS["helm3"](),
        "--set",
        f"operator.livenessPort={liveness}",
        "--set",
        f"operator.metricsPort={metrics}",
    )
    container = named(objects, "Deployment", OPERATOR)["spec"]["template"]["spec"]["containers"][0]
    chart_env = env_values(container, objects, pod_name=POD)
    # The one thing taken from the test rather than the chart: the database.
    chart_env.pop("DATABASE_PASSWORD")
    chart_env["KRAMAR_DATABASE_URL"] = operator_env["KRAMAR_DATABASE_URL"]
    peering = kube.declare_peering(named(objects, "KopfPeering", OPERATOR))
    argv = [*container["command"], *container["args"]]
    probe = container["livenessProbe"]["httpGet"]

    async def named_by_its_pod() -> None:
        # kopf's identity in the peering is the pod's name (POD_ID).
        await eventually(lambda: peers(kube, peering) == [POD])

    assert argv[0] == "kramar" and peering == chart_env["KRAMAR_OPERATOR_PEERING"]
    await sync_in_a_process(
        kube,
        argv[1:],
        chart_env,
        metrics_url=f"http://127.0.0.1:{metrics}/metrics",
        liveness_url=f"http://127.0.0.1:{liveness}{probe['path']}",
        while_running=named_by_its_pod,
    )
    assert peers(kube, peering) == [], "left the peering"
