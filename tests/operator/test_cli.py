"""`kramar operator` as a real process: kopf against kmock, metrics and liveness on their ports,
JSON logs through the app's (redacting) handler, a clean stop on SIGTERM."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import aiohttp

from tests.operator.catalogs import NAMESPACE, catalog_yaml, product
from tests.operator.conftest import eventually
from tests.operator.test_e2e import KEY, synced
from tests.servers.redis import free_port

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Sequence

    from tests.operator.conftest import Kube

ROOT = Path(__file__).resolve().parents[2]


async def fetch(url: str) -> tuple[int, str]:
    try:
        async with aiohttp.ClientSession() as client, client.get(url) as response:
            return response.status, await response.text()
    except aiohttp.ClientError:
        return 0, ""


async def sync_in_a_process(
    kube: Kube,
    args: Sequence[str],
    env: dict[str, str],
    *,
    metrics_url: str,
    liveness_url: str,
    while_running: Callable[[], Awaitable[None]] | None = None,
) -> str:
    """Run `kramar ARGS` with `env` (and this machine's variables other than KRAMAR_*) until it
    has synced a catalog ConfigMap, counted it at `metrics_url` and answered `liveness_url` (and
    `while_running` passed); stop it with SIGTERM, check it exits 0 with one JSON object a log
    line, and return its output."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("KRAMAR_")} | env
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "app.cli", *args,
        env=env, cwd=ROOT, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    try:
        await eventually(kube.watching, seconds=60)
        await kube.create_configmap("catalog", data={KEY: catalog_yaml([product(1)])})
        await synced(kube, "catalog")

        async def counted() -> bool:
            status, body = await fetch(metrics_url)
            line = 'catalog_syncs_total{outcome="synced",trigger="configmap"} 1.0'
            return status == 200 and line in body

        await eventually(counted)
        status, body = await fetch(liveness_url)
        assert status == 200 and json.loads(body)["index_sync"]["started"] is True
        if while_running is not None:
            await while_running()
    finally:
        proc.send_signal(signal.SIGTERM)
        output, _ = await asyncio.wait_for(proc.communicate(), 30)
    text = output.decode()
    assert proc.returncode == 0, text[-3000:]
    lines = [line for line in text.splitlines() if line.strip()]
    assert lines and all(json.loads(line)["level"] for line in lines), "one JSON object a line"
    return text


async def test_kramar_operator_syncs_serves_metrics_and_liveness_and_stops_on_sigterm(
    kube, operator_env
):
    metrics, liveness = free_port(), free_port()
    env = operator_env | {
        "KRAMAR_OPERATOR_NAMESPACES": json.dumps([NAMESPACE]),
        "KRAMAR_OPERATOR_PEERING": "",
        "KRAMAR_OPERATOR_METRICS_PORT": str(metrics),
        "KRAMAR_OPERATOR_LIVENESS_URL": f"http://127.0.0.1:{liveness}/healthz",
        "KRAMAR_LOG_FORMAT": "json",
    }

    await sync_in_a_process(
        kube,
        ["operator"],
        env,
        metrics_url=f"http://127.0.0.1:{metrics}/metrics",
        liveness_url=f"http://127.0.0.1:{liveness}/healthz",
    )


async def test_kramar_operator_needs_to_be_told_where_to_watch(kramar):
    code, _, err = await kramar("operator")
    assert code == 2 and "--namespace" in err
