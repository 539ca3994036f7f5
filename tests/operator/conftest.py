"""The operator against kmock (an emulated Kubernetes API) and the real test Postgres.

kopf runs in a thread of its own (`KopfRunner`) with its own event loop; kmock serves from the
test's loop, so tests stay async and never block (a blocking wait would freeze the API the
operator talks to). kopf finds kmock through a kubeconfig in KUBECONFIG; settings reach the
operator through the environment, as in a pod.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import aiohttp
import pytest
import yaml
from kopf.testing import KopfRunner
from prometheus_client import REGISTRY

from app.config import get_settings
from tests.operator.catalogs import NAMESPACE
from tests.operator.manifests import PEERING_YAML

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Awaitable, Callable, Iterator

CONFIGMAPS = "v1/configmaps"
PEERINGS = "kopf.dev/v1/kopfpeerings"
# Requests the tests make carry this, so the operator's own calls can be told apart.
TEST_AGENT = "kramar-tests"


class Kube:
    """The emulated API: objects made and changed over HTTP, as kubectl would."""

    def __init__(self, kmock: Any) -> None:
        # Without the resources declared kopf finds nothing to watch and sits idle.
        kmock.resources.load_bundled()
        kmock.objects["v1/namespaces", None, NAMESPACE] = {"metadata": {"name": NAMESPACE}}
        self.kmock = kmock
        self.url = str(kmock.url).rstrip("/")

    async def _call(self, method: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
        headers = {"User-Agent": TEST_AGENT}
        if method == "PATCH":
            headers["Content-Type"] = "application/merge-patch+json"
        async with (
            aiohttp.ClientSession() as client,
            client.request(method, self.url + path, json=body, headers=headers) as response,
        ):
            assert response.status < 300, await response.text()
            answer: dict[str, Any] = await response.json()
            return answer

    async def create_configmap(self, name: str, **fields: Any) -> None:
        metadata = {"name": name, "namespace": NAMESPACE, **fields.pop("metadata", {})}
        metadata.setdefault("labels", {"kramar.io/catalog": "true"})
        body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": metadata, **fields}
        await self._call("POST", f"/api/v1/namespaces/{NAMESPACE}/configmaps", body)

    async def patch_configmap(self, name: str, patch: dict[str, Any]) -> None:
        await self._call("PATCH", f"/api/v1/namespaces/{NAMESPACE}/configmaps/{name}", patch)

    def configmap(self, name: str) -> dict[str, Any]:
        raw: dict[str, Any] = self.kmock.objects[CONFIGMAPS, NAMESPACE, name].raw
        return raw

    def annotations(self, name: str) -> dict[str, str]:
        found: dict[str, str] = self.configmap(name).get("metadata", {}).get("annotations", {})
        return found

    def events(self) -> list[dict[str, Any]]:
        """Every Event the operator posted (kmock keeps only one nameless object per kind)."""
        return [
            request.data
            for request in self.kmock
            if request.method == "POST" and request.resource is not None
            if request.resource.plural == "events"
        ]

    def operator_calls(self) -> list[Any]:
        """The operator's requests to Kubernetes resources (not the tests', not discovery)."""
        return [
            request
            for request in self.kmock
            if request.headers.get("User-Agent") != TEST_AGENT
            if request.resource is not None and request.resource.plural is not None
        ]

    def declare_peering(self, peering: dict[str, Any] | None = None) -> str:
        """The KopfPeering CRD of operator/peering.yaml and a KopfPeering (that file's, unless
        given), as the chart installs them; returns the peering's name."""
        crd, default = yaml.safe_load_all(PEERING_YAML.read_text())
        peering = peering or default
        names, version = crd["spec"]["names"], crd["spec"]["versions"][0]["name"]
        resource = f"{crd['spec']['group']}/{version}/{names['plural']}"
        assert resource == PEERINGS
        self.kmock.resources[resource] = {
            "namespaced": crd["spec"]["scope"] == "Namespaced",
            "kind": names["kind"],
            "singular": names["singular"],
            "verbs": ["get", "list", "watch", "patch"],
            "shortnames": [],
            "categories": [],
            "subresources": [],
        }
        name: str = peering["metadata"]["name"]
        metadata = {**peering["metadata"], "namespace": NAMESPACE}
        self.kmock.objects[resource, NAMESPACE, name] = {**peering, "metadata": metadata}
        return name

    async def patch_peering(self, name: str, patch: dict[str, Any]) -> None:
        path = f"/apis/kopf.dev/v1/namespaces/{NAMESPACE}/kopfpeerings/{name}"
        await self._call("PATCH", path, patch)

    def watching(self, plural: str = "configmaps") -> bool:
        return any(
            str(request.action).endswith("WATCH")
            and request.resource is not None
            and request.resource.plural == plural
            for request in self.kmock
        )


def write_kubeconfig(folder: Path, server: str) -> Path:
    """A kubeconfig in `folder` that points kopf at `server` (kmock)."""
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "kmock", "cluster": {"server": server}}],
        "users": [{"name": "test", "user": {"token": "test-token"}}],
        "contexts": [{"name": "kmock", "context": {"cluster": "kmock", "user": "test"}}],
        "current-context": "kmock",
    }
    path = folder / "kubeconfig"
    path.write_text(yaml.safe_dump(config))
    return path


@pytest.fixture(name="kube")
async def fx_kube(kmock: Any, tmp_path, monkeypatch) -> Kube:
    path = write_kubeconfig(tmp_path, str(kmock.url))
    monkeypatch.setenv("KUBECONFIG", str(path))
    return Kube(kmock)


@pytest.fixture(autouse=True)
def fx_root_logger() -> Iterator[None]:
    """kopf's CLI and the operator's start-up both set up the root logger, on a stream that the
    runner closes when it stops: give the next test the logging it had."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.fixture(name="operator_env")
def fx_operator_env(database_url, db, monkeypatch) -> Iterator[dict[str, str]]:
    """The operator's settings: the test database, short debounce and retry, no ports."""
    env = {
        "KRAMAR_DATABASE_URL": database_url.render_as_string(hide_password=False),
        "KRAMAR_RAG_SYNC_DEBOUNCE_SECONDS": "0.5",
        "KRAMAR_OPERATOR_RETRY_SECONDS": "0.2",
        "KRAMAR_OPERATOR_METRICS_PORT": "0",
        "KRAMAR_LOG_LEVEL": "INFO",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    yield env
    get_settings.cache_clear()


@contextlib.asynccontextmanager
async def running_operator(
    kube: Kube, *extra: str, ready: Callable[[], bool] | None = None
) -> AsyncIterator[KopfRunner]:
    """kopf running the operator's handlers until the block ends; waits until `ready` (by
    default: until it watches ConfigMaps). Standalone unless `extra` names a peering.
    """
    peering = "--peering" in extra
    mode = [] if peering else ["--standalone"]
    args = ["run", *mode, "-n", NAMESPACE, "-m", "kramar_operator.handlers", *extra]
    runner = KopfRunner(args, timeout=30)
    runner.__enter__()
    try:
        await eventually(ready or kube.watching, seconds=20)
        yield runner
    finally:
        # Joining the thread blocks: off the loop, so kmock keeps serving the shutdown.
        await asyncio.to_thread(runner.__exit__, None, None, None)


async def eventually(
    check: Callable[[], bool] | Callable[[], Awaitable[bool]], *, seconds: float = 15.0
) -> None:
    """Poll `check` until it is true: kopf, NOTIFY and the debounce have no event of ours."""
    deadline = time.monotonic() + seconds
    while True:
        result = check()
        if not isinstance(result, bool):
            result = await result
        if result:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"still false after {seconds} s: {check}")
        await asyncio.sleep(0.05)


def syncs(trigger: str, outcome: str) -> float:
    """How many syncs the process-wide metrics counted (the operator thread shares them)."""
    value = REGISTRY.get_sample_value(
        "catalog_syncs_total", {"trigger": trigger, "outcome": outcome}
    )
    return value or 0.0


def binary(content: bytes) -> str:
    return base64.b64encode(content).decode()
