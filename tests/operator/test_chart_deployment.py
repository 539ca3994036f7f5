"""The operator as the chart deploys it: the Deployment's own command line and environment
(`helm template`, with the database swapped for the test's) run as a process against kmock, with
the chart's KopfPeering declared, sync a catalog ConfigMap, answer the chart's probe and serve
metrics on the chart's ports, name themselves in the peering by the pod's name, and stop cleanly
on SIGTERM."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from pathlib import Path

from tests.charts.helm import HELMS, env_values, named, render
from tests.operator.catalogs import NAMESPACE, catalog_yaml, product
from tests.operator.conftest import PEERINGS, Kube, eventually
from tests.operator.test_cli import fetch
from tests.operator.test_e2e import KEY, synced
from tests.servers.redis import free_port

ROOT = Path(__file__).resolve().parents[2]
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
    env = {k: v for k, v in os.environ.items() if not k.startswith("KRAMAR_")} | chart_env

    assert argv[0] == "kramar" and peering == chart_env["KRAMAR_OPERATOR_PEERING"]
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "app.cli", *argv[1:],
        env=env, cwd=ROOT, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    try:
        await eventually(kube.watching, seconds=60)
        await kube.create_configmap("catalog", data={KEY: catalog_yaml([product(1)])})
        await synced(kube, "catalog")

        async def counted() -> bool:
            status, body = await fetch(f"http://127.0.0.1:{metrics}/metrics")
            line = 'catalog_syncs_total{outcome="synced",trigger="configmap"} 1.0'
            return status == 200 and line in body

        await eventually(counted)
        status, body = await fetch(f"http://127.0.0.1:{liveness}{probe['path']}")
        assert status == 200 and json.loads(body)["index_sync"]["started"] is True
        # kopf's identity in the peering is the pod's name (POD_ID).
        await eventually(lambda: peers(kube, peering) == [POD])
    finally:
        proc.send_signal(signal.SIGTERM)
        output, _ = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 0, output.decode()[-3000:]
    assert peers(kube, peering) == [], "left the peering"
    lines = [line for line in output.decode().splitlines() if line.strip()]
    assert lines and all(json.loads(line)["level"] for line in lines), "one JSON object a line"
