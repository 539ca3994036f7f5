"""The operator and the index sync: ConfigMap syncs, API edit to index, and the trigger's cost.

Rows:
- a 1,000-product catalog ConfigMap synced from scratch, end to end (kopf against kmock, the real
  Postgres, the local embedder): seconds from the ConfigMap's creation to its synced annotation,
  and products re-embedded; then the same ConfigMap with 10 products changed (goal: exactly 10);
- an admin API edit to the index updated (the in-process loop `kramar serve` runs; the operator
  runs the same one), p50 / p99 over 50 edits at the default 2 s debounce (goal p99 <= 3 s);
- the catalog trigger of migration 0012 (SKUs in the NOTIFY) against 0008's (the version only):
  importing 1,000 new products and then updating all 1,000, side by side in one run.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import tempfile
import time
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml
from alembic.script import ScriptDirectory
from kmock import KubernetesEmulator, Server
from litestar.testing import AsyncTestClient
from sqlalchemy import select

from app.catalog.importer import import_catalog, load_upload_items
from app.catalog.models import Product
from app.config import DatabaseSettings, RagSettings, get_settings
from app.db import migrate
from app.db.engine import create_engine, create_session_factory
from app.rag.models import ProductEmbedding
from app.server import create_app
from benchmarks.table import Row
from tests.fixtures_app import ADMIN, app_settings
from tests.operator.catalogs import catalog_yaml, product
from tests.operator.conftest import Kube, eventually, running_operator, write_kubeconfig
from tests.servers.postgres import TestPostgres

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from sqlalchemy.engine import URL
    from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

PRODUCTS = 1_000
CHANGED = 10
EDITS = 50
DEBOUNCE = 2.0  # the default KRAMAR_RAG_SYNC_DEBOUNCE_SECONDS
KEY = "products_master.yaml"


def _load() -> str:
    one, five, _ = os.getloadavg()
    return f"load {one:.1f}/{five:.1f} on {os.cpu_count()} cores"


@asynccontextmanager
async def _environment(**env: str) -> AsyncIterator[None]:
    """The operator reads its settings from the environment, as in a pod."""
    saved = {name: os.environ.get(name) for name in env}
    os.environ.update(env)
    get_settings.cache_clear()
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        get_settings.cache_clear()


async def _embedded(session_factory: async_sessionmaker[AsyncSession]) -> dict[str, str]:
    query = select(Product.sku, ProductEmbedding.content_hash).join(
        ProductEmbedding, ProductEmbedding.product_id == Product.id
    )
    async with session_factory() as session:
        return {sku: digest for sku, digest in await session.execute(query)}


async def _configmap_rows(url: URL, folder: Path) -> list[Row]:
    products = [product(n) for n in range(1, PRODUCTS + 1)]
    kmock = KubernetesEmulator()
    async with kmock, Server(kmock):
        kube = Kube(kmock)
        env = {
            "KUBECONFIG": str(write_kubeconfig(folder, str(kmock.url))),
            "KRAMAR_DATABASE_URL": url.render_as_string(hide_password=False),
            "KRAMAR_OPERATOR_METRICS_PORT": "0",
            "KRAMAR_LOG_LEVEL": "WARNING",
        }
        async with _environment(**env), running_operator(kube):
            started = time.perf_counter()
            await kube.create_configmap("catalog", data={KEY: catalog_yaml(products)})
            await eventually(
                lambda: "kramar.io/synced-hash" in kube.annotations("catalog"), seconds=600
            )
            scratch = time.perf_counter() - started
            first = yaml.safe_load(kube.annotations("catalog")["kramar.io/sync-counts"])
            digest = kube.annotations("catalog")["kramar.io/synced-hash"]
            for item in products[:: PRODUCTS // CHANGED][:CHANGED]:
                item["description"] += " Оновлено."
            started = time.perf_counter()
            await kube.patch_configmap("catalog", {"data": {KEY: catalog_yaml(products)}})
            await eventually(
                lambda: kube.annotations("catalog").get("kramar.io/synced-hash") != digest,
                seconds=600,
            )
            changed = time.perf_counter() - started
            second = yaml.safe_load(kube.annotations("catalog")["kramar.io/sync-counts"])
    size = len(catalog_yaml(products).encode()) / 1024
    note = f"kopf + kmock + Postgres, local embedder, {size:.0f} KB of YAML; {_load()}"
    return [
        Row("operator", f"ConfigMap sync, {PRODUCTS:,} products, from scratch", scratch, "s",
            note=note),
        Row("operator", "  products re-embedded", first["embedded"], "products",
            goal=f"{PRODUCTS:,}"),
        Row("operator", f"ConfigMap sync after changing {CHANGED} products", changed, "s",
            note=note),
        Row("operator", "  products re-embedded", second["embedded"], "products",
            goal=f"exactly {CHANGED}"),
    ]  # fmt: skip


async def _api_edit_rows(url: URL) -> list[Row]:
    settings = app_settings(url, rag=RagSettings(sync_debounce_seconds=DEBOUNCE))
    engine = create_engine(url, DatabaseSettings())
    session_factory = create_session_factory(engine)
    latencies: list[float] = []
    try:
        async with AsyncTestClient(create_app(settings), timeout=30) as client:
            for n in range(EDITS):
                sku = f"KR-OP-{n % PRODUCTS + 1:04d}"
                before = (await _embedded(session_factory))[sku]
                edited = time.perf_counter()
                response = await client.patch(
                    f"/api/v1/admin/products/{sku}",
                    json={"description": f"Правка {n}: тепер з кишенями."},
                    headers=ADMIN,
                )
                assert response.status_code == 200, response.text
                while (await _embedded(session_factory))[sku] == before:  # noqa: ASYNC110
                    await asyncio.sleep(0.02)
                latencies.append(time.perf_counter() - edited)
    finally:
        await engine.dispose()
    latencies.sort()
    p99 = latencies[min(len(latencies) - 1, round(0.99 * len(latencies)) - 1)]
    note = f"{EDITS} sequential edits, debounce {DEBOUNCE:.0f} s, in-process loop; {_load()}"
    return [
        Row("operator", "API edit -> index updated, p50", statistics.median(latencies), "s",
            note=note),
        Row("operator", "API edit -> index updated, p99", p99, "s",
            goal=f"<= {DEBOUNCE + 1:.0f} s"),
    ]  # fmt: skip


async def _import_twice(server: TestPostgres, name: str, revision: str) -> tuple[float, float]:
    """Seconds to import 1,000 new products, then to change all 1,000, at `revision`."""
    engine = create_engine(server.create_database(name), DatabaseSettings())
    try:
        await migrate.upgrade(engine, revision)
        session_factory = create_session_factory(engine)
        products = [product(n) for n in range(1, PRODUCTS + 1)]

        async def none(_: set[str]) -> dict[str, bytes]:
            return {}

        async def load() -> list[Any]:
            return await load_upload_items(
                catalog_yaml(products).encode(), name=KEY, photos={}, stored=none,
                max_catalog_bytes=50_000_000, max_photo_bytes=5_000_000,
            )  # fmt: skip

        items = await load()
        started = time.perf_counter()
        await import_catalog(session_factory, items)
        added = time.perf_counter() - started
        for item in products:
            item["description"] += " Оновлено."
        items = await load()
        started = time.perf_counter()
        await import_catalog(session_factory, items)
        return added, time.perf_counter() - started
    finally:
        await engine.dispose()


async def _trigger_rows(server: TestPostgres) -> list[Row]:
    before = migrate_before()
    rounds = [
        (await _import_twice(server, f"kramar_trigger_old_{n}", before),
         await _import_twice(server, f"kramar_trigger_new_{n}", "head"))
        for n in range(3)
    ]  # fmt: skip
    old_add = statistics.median(r[0][0] for r in rounds)
    new_add = statistics.median(r[1][0] for r in rounds)
    old_change = statistics.median(r[0][1] for r in rounds)
    new_change = statistics.median(r[1][1] for r in rounds)
    note = f"median of 3, alternating; {_load()}"
    return [
        Row("operator", f"import {PRODUCTS:,} new products, trigger of {before}", old_add, "s",
            note=note),
        Row("operator", f"import {PRODUCTS:,} new products, trigger of 0012", new_add, "s",
            goal="about the same", note=f"{100 * new_add / old_add:.0f} % of {before}"),
        Row("operator", f"change all {PRODUCTS:,} products, trigger of {before}", old_change, "s",
            note=note),
        Row("operator", f"change all {PRODUCTS:,} products, trigger of 0012", new_change, "s",
            goal="about the same", note=f"{100 * new_change / old_change:.0f} % of {before}"),
    ]  # fmt: skip


def migrate_before() -> str:
    """The revision before 0012, whatever the chain becomes at merge."""
    script = ScriptDirectory.from_config(migrate.alembic_config()).get_revision("0012")
    assert script is not None and isinstance(script.down_revision, str)
    return script.down_revision


async def _run() -> list[Row]:
    server = TestPostgres()
    try:
        await asyncio.to_thread(server.start)
        with tempfile.TemporaryDirectory() as folder:
            url = server.create_database("kramar_bench_operator")
            engine = create_engine(url, DatabaseSettings())
            await migrate.upgrade(engine)
            await engine.dispose()
            rows = await _configmap_rows(url, Path(folder))
            rows += await _api_edit_rows(url)
        rows += await _trigger_rows(server)
        return rows
    finally:
        server.stop()


def run() -> list[Row]:
    return asyncio.run(_run())
