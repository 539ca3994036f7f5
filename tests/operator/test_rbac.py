"""The Role in operator/rbac.yaml allows exactly what the operator calls, and it keeps to one
active instance through kopf peering."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import kubernetes_validate
import yaml

from tests.operator.catalogs import catalog_yaml, product
from tests.operator.conftest import PEERINGS, eventually, running_operator, syncs
from tests.operator.manifests import PEERING_YAML, ROLE, allowed
from tests.operator.test_e2e import KEY, synced

VERBS = {
    "LIST": "list",
    "WATCH": "watch",
    "FETCH": "get",
    "CREATE": "create",
    "UPDATE": "patch",
    "DELETE": "delete",
}


def test_the_role_and_the_peering_crd_are_valid_kubernetes_objects():
    role = yaml.safe_load(ROLE.read_text())
    kubernetes_validate.validate(role, "1.30.0", strict=True)
    assert role["kind"] == "Role", "namespaced: a ClusterRole only for --all-namespaces"
    crd, _peering = yaml.safe_load_all(PEERING_YAML.read_text())
    kubernetes_validate.validate(crd, "1.30.0", strict=True)


async def test_the_role_covers_exactly_what_the_operator_calls(kube, operator_env):
    peering = kube.declare_peering()
    async with running_operator(kube, "--peering", peering):
        await kube.create_configmap("catalog", data={KEY: catalog_yaml([product(1)])})
        await synced(kube, "catalog")
        digest = kube.annotations("catalog")["kramar.io/synced-hash"]
        await kube.patch_configmap("catalog", {"data": {KEY: catalog_yaml([product(2)])}})
        await synced(kube, "catalog", digest)
        await kube.patch_configmap("catalog", {"data": {KEY: "products: [{sku: broken}]"}})
        await eventually(lambda: "kramar.io/last-error" in kube.annotations("catalog"))
    calls = {
        (request.resource.group, request.resource.plural, VERBS[str(request.action).split(".")[-1]])
        for request in kube.operator_calls()
    }
    assert calls == allowed(yaml.safe_load(ROLE.read_text()))


async def test_a_peer_of_higher_priority_pauses_the_operator(kube, operator_env):
    peering = kube.declare_peering()
    other = {"priority": 100, "lifetime": 60, "lastseen": datetime.now(UTC).isoformat()}
    await kube.patch_peering(peering, {"status": {"other-operator": other}})
    imports = syncs("configmap", "synced")
    peering_watched = lambda: kube.watching("kopfpeerings")  # noqa: E731
    async with running_operator(kube, "--peering", peering, ready=peering_watched):
        await kube.create_configmap("catalog", data={KEY: catalog_yaml([product(1)])})
        await asyncio.sleep(2.0)
        assert syncs("configmap", "synced") == imports, "a paused operator imports nothing"
        await kube.patch_peering(peering, {"status": {"other-operator": None}})
        await synced(kube, "catalog")
    assert syncs("configmap", "synced") == imports + 1
    assert kube.kmock.objects[PEERINGS, "shop", peering].raw["status"] == {}, "left the peering"
