"""End to end: kopf runs the operator's handlers against kmock and the real test Postgres."""

from __future__ import annotations

import asyncio
import json
import time

from litestar.testing import AsyncTestClient
from sqlalchemy import func, select

from app.catalog.models import Product
from app.config import RagSettings
from app.rag.models import ProductEmbedding
from app.server import create_app
from tests.fixtures_app import ADMIN, app_settings
from tests.operator.catalogs import catalog_yaml, product
from tests.operator.conftest import eventually, running_operator, syncs

KEY = "products_master.yaml"
DEBOUNCE = 0.5  # KRAMAR_RAG_SYNC_DEBOUNCE_SECONDS in the operator_env fixture


async def count(session_factory, model) -> int:
    async with session_factory() as session:
        return await session.scalar(select(func.count()).select_from(model)) or 0


async def embeddings(session_factory) -> dict[str, tuple[str, object]]:
    """SKU → (content hash, updated_at) of every stored embedding."""
    query = select(Product.sku, ProductEmbedding.content_hash, ProductEmbedding.updated_at).join(
        ProductEmbedding, ProductEmbedding.product_id == Product.id
    )
    async with session_factory() as session:
        return {sku: (digest, at) for sku, digest, at in await session.execute(query)}


async def synced(kube, name: str, digest_before: str | None = None) -> None:
    """Wait until the ConfigMap reports a sync (a new one, when a previous hash is given)."""

    def reported() -> bool:
        digest = kube.annotations(name).get("kramar.io/synced-hash")
        return digest is not None and digest != digest_before

    await eventually(reported)


async def test_a_labelled_configmap_lands_in_postgres_with_embeddings(
    kube, operator_env, session_factory
):
    async with running_operator(kube):
        await kube.create_configmap("catalog", data={KEY: catalog_yaml([product(1), product(2)])})
        await synced(kube, "catalog")
    assert await count(session_factory, Product) == 2
    assert set(await embeddings(session_factory)) == {"KR-OP-0001", "KR-OP-0002"}
    counts = json.loads(kube.annotations("catalog")["kramar.io/sync-counts"])
    assert counts == {"added": 2, "changed": 0, "deactivated": 0, "unchanged": 0, "embedded": 2}
    events = kube.events()
    assert [(e["type"], e["reason"]) for e in events] == [("Normal", "Synced")]
    assert "added 2" in events[0]["message"]


async def test_changing_one_product_re_embeds_only_that_product(
    kube, operator_env, session_factory
):
    products = [product(n) for n in range(1, 6)]
    async with running_operator(kube):
        await kube.create_configmap("catalog", data={KEY: catalog_yaml(products)})
        await synced(kube, "catalog")
        before = await embeddings(session_factory)
        products[2]["description"] = "Нова назва тканини: льон."
        digest = kube.annotations("catalog")["kramar.io/synced-hash"]
        await kube.patch_configmap("catalog", {"data": {KEY: catalog_yaml(products)}})
        await synced(kube, "catalog", digest)
        await asyncio.sleep(DEBOUNCE + 0.5)  # the index sync heard the import's NOTIFY too
    after = await embeddings(session_factory)
    assert [sku for sku in after if after[sku] != before[sku]] == ["KR-OP-0003"]
    annotations = kube.annotations("catalog")
    counts = json.loads(annotations["kramar.io/sync-counts"])
    assert counts["changed"] == 1 and counts["embedded"] == 1
    # kopf's record holds a digest of the data, not the data: annotations are limited to 256 KiB
    # in all, and a catalog ConfigMap may hold up to 1 MiB.
    record = json.loads(annotations["operator.kramar.io/last-handled-configuration"])
    assert "data" not in record and len(record["contentDigest"]) == 64


async def test_an_invalid_configmap_is_a_warning_with_the_line_and_imports_nothing(
    kube, operator_env, session_factory
):
    broken = catalog_yaml([product(1), product(2, price="-5")])
    async with running_operator(kube):
        await kube.create_configmap("catalog", data={KEY: broken})
        await eventually(lambda: "kramar.io/last-error" in kube.annotations("catalog"))
        await asyncio.sleep(1.0)  # a retry would have happened by now (retry base 0.2 s)
    assert await count(session_factory, Product) == 0
    warnings = [e for e in kube.events() if e["reason"] == "InvalidCatalog"]
    assert len(warnings) == 1, "a permanent error is not retried"
    assert warnings[0]["type"] == "Warning"
    lines = broken.splitlines()
    start = lines.index("- sku: KR-OP-0002")
    line = next(n for n in range(start, len(lines)) if lines[n].startswith("  price:")) + 1
    assert f"shop/catalog/{KEY}:{line}: KR-OP-0002.price" in warnings[0]["message"]
    assert "kramar.io/synced-hash" not in kube.annotations("catalog")


async def test_a_database_outage_is_retried_until_the_import_succeeds(
    kube, operator_env, postgres, monkeypatch, session_factory
):
    from app.config import DatabaseSettings, get_settings
    from app.db import migrate
    from app.db.engine import create_engine, create_session_factory

    # A database that does not exist yet: every connection fails, as when Postgres is down.
    url = postgres.database_url("kramar_op_down")
    monkeypatch.setenv("KRAMAR_DATABASE_URL", url.render_as_string(hide_password=False))
    get_settings.cache_clear()
    errors_before = syncs("configmap", "error")
    async with running_operator(kube):
        await kube.create_configmap("catalog", data={KEY: catalog_yaml([product(1)])})
        await eventually(lambda: syncs("configmap", "error") >= errors_before + 2)
        assert "kramar.io/last-error" in kube.annotations("catalog")
        await asyncio.to_thread(postgres.create_database, "kramar_op_down")
        engine = create_engine(url, DatabaseSettings())
        try:
            await migrate.upgrade(engine)
            await synced(kube, "catalog")
            assert await count(create_session_factory(engine), Product) == 1
        finally:
            await engine.dispose()
    assert "kramar.io/last-error" not in kube.annotations("catalog")


async def test_labels_and_own_annotations_import_nothing(kube, operator_env):
    async with running_operator(kube):
        await kube.create_configmap("catalog", data={KEY: catalog_yaml([product(1)])})
        await synced(kube, "catalog")
        imports = syncs("configmap", "synced")
        await kube.patch_configmap(
            "catalog",
            {"metadata": {"labels": {"team": "shop"}, "annotations": {"owner": "anna"}}},
        )
        # kopf has handled the change once its own record shows the new label.
        handled = "operator.kramar.io/last-handled-configuration"
        await eventually(lambda: '"team"' in kube.annotations("catalog")[handled])
        await kube.patch_configmap(
            "catalog", {"metadata": {"annotations": {"kramar.io/synced-at": "tampered"}}}
        )
        await asyncio.sleep(1.0)
    assert syncs("configmap", "synced") == imports


async def test_a_restarted_operator_imports_nothing_again(kube, operator_env, session_factory):
    async with running_operator(kube):
        await kube.create_configmap("catalog", data={KEY: catalog_yaml([product(1)])})
        await synced(kube, "catalog")
    imports, skips = syncs("configmap", "synced"), syncs("configmap", "skipped")
    async with running_operator(kube):
        await eventually(lambda: syncs("configmap", "skipped") == skips + 1)  # resumed, compared
    assert syncs("configmap", "synced") == imports
    assert [e["reason"] for e in kube.events()] == ["Synced"]


async def test_an_api_edit_is_re_embedded_by_the_operator_within_the_debounce_window(
    kube, operator_env, database_url, session_factory
):
    settings = app_settings(database_url, rag=RagSettings(sync="operator"))
    async with running_operator(kube), AsyncTestClient(create_app(settings)) as client:
        await kube.create_configmap("catalog", data={KEY: catalog_yaml([product(1), product(2)])})
        await synced(kube, "catalog")
        await asyncio.sleep(DEBOUNCE + 0.5)  # let the import's own notification settle
        before = await embeddings(session_factory)
        notified = syncs("notify", "synced")
        edited = time.monotonic()
        response = await client.patch(
            "/api/v1/admin/products/KR-OP-0002",
            json={"description": "Тепер з льону, з кишенями."},
            headers=ADMIN,
        )
        assert response.status_code == 200

        async def re_embedded() -> bool:
            return (await embeddings(session_factory))["KR-OP-0002"] != before["KR-OP-0002"]

        await eventually(re_embedded, seconds=DEBOUNCE + 5)
        took = time.monotonic() - edited
        # A price is not part of the embedding text: the sync looks, and embeds nothing.
        response = await client.put(
            "/api/v1/admin/products/KR-OP-0001/price", json={"price": "999.00"}, headers=ADMIN
        )
        assert response.status_code == 200
        await eventually(lambda: syncs("notify", "synced") >= notified + 2)
    after = await embeddings(session_factory)
    assert after["KR-OP-0001"] == before["KR-OP-0001"]
    assert took <= DEBOUNCE + 1.0
