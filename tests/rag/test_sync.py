"""The index sync: catalog notifications in, only the named products re-embedded, gaps healed."""

from __future__ import annotations

import asyncio
import json

from litestar.testing import AsyncTestClient
from prometheus_client import REGISTRY
from sqlalchemy import select, text

from app.catalog.models import Product
from app.catalog.schemas import ProductUpdate
from app.catalog.service import CatalogService
from app.config import RagSettings
from app.rag.embedders import HashingEmbedder
from app.rag.indexer import reindex
from app.rag.models import ProductEmbedding
from app.rag.sync import APPLICATION_NAME, IndexSync
from app.server import create_app
from tests.fixtures_app import ADMIN, app_settings
from tests.rag.conftest import add_products, product_in

DEBOUNCE = 0.3


async def hashes(session_factory) -> dict[str, str]:
    query = select(Product.sku, ProductEmbedding.content_hash).join(
        ProductEmbedding, ProductEmbedding.product_id == Product.id
    )
    async with session_factory() as session:
        return {sku: digest for sku, digest in await session.execute(query)}


async def eventually(check, seconds: float = 10.0) -> None:
    async with asyncio.timeout(seconds):
        while not await check():  # noqa: ASYNC110
            await asyncio.sleep(0.02)


def synced(trigger: str) -> float:
    labels = {"trigger": trigger, "outcome": "synced"}
    return REGISTRY.get_sample_value("catalog_syncs_total", labels) or 0.0


class CountingEmbedder:
    """The real local embedder, counting the texts it is asked for; it can fail on demand."""

    def __init__(self, inner: HashingEmbedder, failures: int = 0) -> None:
        self.inner, self.name, self.dim = inner, inner.name, inner.dim
        self.texts: list[str] = []
        self.failures = failures

    async def embed(self, texts: list[str]) -> list[list[float]]:
        if self.failures:
            self.failures -= 1
            raise RuntimeError("embedding endpoint down")
        self.texts += texts
        return await self.inner.embed(texts)


async def started(db, rag_db, embedder, **options) -> IndexSync:
    sync = IndexSync(db, rag_db, embedder, debounce_seconds=DEBOUNCE, **options)
    await sync.start()
    # Running once it has reconciled after connecting (nothing to do on an indexed catalog).
    await eventually(lambda: _true(sync.last_report is not None))
    return sync


async def _true(value: bool) -> bool:
    return value


async def test_a_burst_of_edits_is_re_embedded_once_and_only_for_the_edited_products(
    db, rag_db, embedder
):
    await add_products(rag_db, *(product_in(f"KR-S-{n:03d}", f"Худі {n}") for n in range(5)))
    await reindex(rag_db, embedder)
    counting = CountingEmbedder(embedder)
    sync = await started(db, rag_db, counting)
    try:
        before = synced("notify")
        async with CatalogService(rag_db) as service:
            for sku in ("KR-S-001", "KR-S-003"):
                await service.update_product(sku, ProductUpdate(description=f"Нове: {sku}"))
            await service.set_stock("KR-S-002", "M", "чорний", 9)  # stock: not embedded text

        async def done() -> bool:
            return synced("notify") > before

        await eventually(done)
        await asyncio.sleep(DEBOUNCE * 2)
    finally:
        await sync.stop()
    assert synced("notify") == before + 1, "one sync for the burst"
    assert len(counting.texts) == 2 and all("Нове" in t for t in counting.texts)


async def test_stock_and_photo_changes_wake_nothing(db, rag_db, embedder):
    await add_products(rag_db, product_in("KR-S-001", "Худі"))
    await reindex(rag_db, embedder)
    sync = await started(db, rag_db, embedder)
    try:
        before = synced("notify")
        async with CatalogService(rag_db) as service:
            await service.set_stock("KR-S-001", "M", "чорний", 5)
        await asyncio.sleep(DEBOUNCE * 3)
    finally:
        await sync.stop()
    assert synced("notify") == before


async def test_a_change_made_while_nobody_listened_is_healed_on_reconnect(db, rag_db, embedder):
    await add_products(rag_db, product_in("KR-S-001", "Худі"))
    await reindex(rag_db, embedder)
    sync = IndexSync(db, rag_db, embedder, debounce_seconds=DEBOUNCE, retry_seconds=0.05)
    await sync.start()
    try:
        await eventually(lambda: _true(sync.last_report is not None))
        async with db.connect() as conn:
            await conn.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE application_name = :n"
                ),
                {"n": APPLICATION_NAME},
            )
            # Written with the trigger's NOTIFY going nowhere: the listener is gone.
            await conn.execute(text("UPDATE products SET description = 'Оновлено без нас'"))
            await conn.commit()
        old = (await hashes(rag_db))["KR-S-001"]

        async def healed() -> bool:
            return (await hashes(rag_db))["KR-S-001"] != old

        await eventually(healed)
    finally:
        await sync.stop()


async def test_a_periodic_reconcile_heals_a_notification_that_never_came(db, rag_db, embedder):
    await add_products(rag_db, product_in("KR-S-001", "Худі"))
    await reindex(rag_db, embedder)
    sync = await started(db, rag_db, embedder, reconcile_seconds=0.5)
    try:
        # The embedding row is made stale behind the sync's back (no catalog write, no NOTIFY).
        async with db.begin() as conn:
            await conn.execute(text("UPDATE product_embeddings SET content_hash = 'stale'"))

        async def healed() -> bool:
            return (await hashes(rag_db))["KR-S-001"] != "stale"

        await eventually(healed)
    finally:
        await sync.stop()


async def test_a_failed_sync_is_retried_with_what_it_missed(db, rag_db, embedder):
    await add_products(rag_db, product_in("KR-S-001", "Худі"))
    await reindex(rag_db, embedder)
    flaky = CountingEmbedder(embedder)
    sync = await started(db, rag_db, flaky, retry_seconds=0.05)
    try:
        flaky.failures = 1
        old = (await hashes(rag_db))["KR-S-001"]
        async with CatalogService(rag_db) as service:
            await service.update_product("KR-S-001", ProductUpdate(description="Друга спроба"))

        async def healed() -> bool:
            return (await hashes(rag_db))["KR-S-001"] != old

        await eventually(healed)
    finally:
        await sync.stop()
    assert sync.failures == 0


def test_payloads_of_other_kinds_or_unreadable_ones_are_ignored(db, rag_db, embedder):
    sync = IndexSync(db, rag_db, embedder)
    sync.notify(json.dumps({"v": 3, "kind": "stock", "skus": ["KR-S-001"]}))
    sync.notify(json.dumps({"v": 4, "kind": "content", "skus": []}))
    sync.notify("not json")
    assert sync._first_seen is None
    sync.notify(json.dumps({"v": 5, "kind": "content", "skus": None}))
    assert sync._all_products and sync._first_seen is not None


async def test_kramar_serve_picks_up_an_admin_edit_without_a_restart(database_url, rag_db):
    settings = app_settings(database_url, rag=RagSettings(sync_debounce_seconds=DEBOUNCE))
    await add_products(rag_db, product_in("KR-S-001", "Худі"))
    async with AsyncTestClient(create_app(settings)) as client:
        old = (await hashes(rag_db))["KR-S-001"]  # embedded at start-up
        response = await client.patch(
            "/api/v1/admin/products/KR-S-001", json={"name": "Худі «Хмарка»"}, headers=ADMIN
        )
        assert response.status_code == 200

        async def followed() -> bool:
            return (await hashes(rag_db))["KR-S-001"] != old

        await eventually(followed, seconds=DEBOUNCE + 3)


async def test_with_an_operator_deployed_kramar_serve_leaves_the_index_alone(database_url, rag_db):
    settings = app_settings(
        database_url, rag=RagSettings(sync="operator", sync_debounce_seconds=DEBOUNCE)
    )
    await add_products(rag_db, product_in("KR-S-001", "Худі"))
    async with AsyncTestClient(create_app(settings)) as client:
        old = (await hashes(rag_db))["KR-S-001"]
        await client.patch(
            "/api/v1/admin/products/KR-S-001", json={"name": "Худі «Хмарка»"}, headers=ADMIN
        )
        await asyncio.sleep(DEBOUNCE * 4)
        assert (await hashes(rag_db))["KR-S-001"] == old


async def test_a_notification_arriving_with_the_stop_does_not_keep_the_loop_alive(
    db, rag_db, embedder
):
    # At shutdown a NOTIFY (the test's own last write) can wake the loop in the very tick it is
    # cancelled; asyncio.wait_for on Python 3.11 then dropped the cancellation and stop() hung.
    await add_products(rag_db, product_in("KR-S-001", "Худі"))
    await reindex(rag_db, embedder)
    sync = await started(db, rag_db, embedder)
    await asyncio.sleep(0.05)  # waiting for a notification now
    sync.notify(json.dumps({"v": 9, "kind": "content", "skus": ["KR-S-001"]}))
    for task in sync._tasks:
        task.cancel()
    _, pending = await asyncio.wait(sync._tasks, timeout=5)
    await sync.stop()
    assert not pending, "the loop ignored its cancellation"
