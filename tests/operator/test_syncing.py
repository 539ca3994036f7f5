"""`sync_source` on the real test database: the app's importer and indexer, a record of what was
imported, and the errors the handler maps to permanent and temporary."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from kramar_operator.runtime import Runtime
from kramar_operator.source import catalog_source
from kramar_operator.syncing import sync_source
from sqlalchemy import select, text

from app.catalog.errors import CatalogFileError
from app.catalog.models import Photo, Product
from app.config import DatabaseSettings, Settings
from app.db.migrate import SchemaBehindError
from app.db.runtime import Database
from app.observability.logs import RedactingFilter
from app.rag.embedders import HashingEmbedder
from app.rag.sync import IndexSync
from app.shop.service import ShopService
from app.vision.pipeline import features_version
from tests.fixtures_demo import DEMO
from tests.operator.catalogs import catalog_yaml, product
from tests.operator.conftest import binary
from tests.vision.customer import customer_photo
from tests.vision.test_photo_index import make_identifier

PHOTO = (Path(__file__).resolve().parents[2] / "data/catalog/photos/KR-CD-001.png").read_bytes()


@pytest.fixture(name="runtime")
def fx_runtime(db, session_factory) -> Runtime:
    embedder = HashingEmbedder()
    return Runtime(
        settings=Settings(database=DatabaseSettings()),
        db=Database(db, session_factory, embedded=False),
        embedder=embedder,
        index_sync=IndexSync(db, session_factory, embedder),  # not started: not needed here
        redactor=RedactingFilter(),
    )


def source(products, photos=None, prune=False):
    annotations = {"kramar.io/prune": "true"} if prune else {}
    data = {"products_master.yaml": catalog_yaml(products)}
    return catalog_source("shop", "catalog", data, photos, annotations)


async def skus(session_factory, active=True) -> list[str]:
    async with session_factory() as session:
        query = select(Product.sku).where(Product.active == active).order_by(Product.sku)
        return list(await session.scalars(query))


async def test_a_catalog_is_imported_once_and_then_skipped(runtime, session_factory):
    first = await sync_source(runtime, source([product(1), product(2)]))
    assert first is not None and first.counts()["added"] == 2 and first.embedded == 2
    assert await sync_source(runtime, source([product(1), product(2)])) is None
    assert await skus(session_factory) == ["KR-OP-0001", "KR-OP-0002"]


async def test_products_missing_from_the_configmap_stay_unless_it_asks_to_prune(
    runtime, session_factory
):
    await sync_source(runtime, source([product(1), product(2)]))
    kept = await sync_source(runtime, source([product(1)]))
    assert kept is not None and kept.counts()["deactivated"] == 0
    assert await skus(session_factory) == ["KR-OP-0001", "KR-OP-0002"]
    pruned = await sync_source(runtime, source([product(1)], prune=True))
    assert pruned is not None and pruned.plan.deactivated == ["KR-OP-0002"]
    assert await skus(session_factory, active=False) == ["KR-OP-0002"]


async def test_photos_come_from_binary_data_by_file_name_or_from_what_is_stored(
    runtime, session_factory
):
    with_photo = product(1, photos=["photos/KR-OP-0001.png"])
    await sync_source(runtime, source([with_photo], {"KR-OP-0001.png": binary(PHOTO)}))
    # The same catalog without the photo's bytes (a later ConfigMap): the stored photo is kept.
    again = await sync_source(runtime, source([with_photo, product(2)]))
    assert again is not None and again.counts()["added"] == 1
    async with session_factory() as session:
        rows = (await session.execute(select(Photo.source, Photo.phash))).all()
    assert len(rows) == 1 and rows[0][0] == "photos/KR-OP-0001.png" and rows[0][1] is not None


async def test_a_synced_photo_gets_its_features_and_a_mirror_selfie_of_it_is_recognised(
    runtime, session_factory, db
):
    """The operator stores photos through the app's importer with the app's photo analysis:
    the local features are computed at sync, so the second stage knows the product at once."""
    with_photo = product(1, photos=["photos/KR-OP-0001.png"])
    await sync_source(runtime, source([with_photo, product(2)], {"KR-OP-0001.png": binary(PHOTO)}))
    async with session_factory() as session:
        [(version, words)] = (
            await session.execute(select(Photo.features_version, Photo.feature_words))
        ).all()
    identifier, index, catalog_version = await make_identifier(session_factory, db)
    try:
        found = await identifier.identify(customer_photo("KR-CD-001.png"))
    finally:
        identifier.close()
        await index.close()
        await catalog_version.stop()

    assert version == features_version() and words
    assert (found.sku, found.source) == ("KR-OP-0001", "features")
    assert found.confidence >= 0.8


async def test_an_invalid_catalog_names_file_and_line_and_writes_nothing(runtime, session_factory):
    broken = source([product(1), product(2, price="дорого"), product(3, photos=["photos/x.png"])])
    with pytest.raises(CatalogFileError) as raised:
        await sync_source(runtime, broken)
    problems = raised.value.problems
    assert any(
        p.startswith("shop/catalog/products_master.yaml:") and ".price" in p for p in problems
    )
    assert any("photos/x.png" in p for p in problems)
    assert await skus(session_factory) == []
    assert await sync_source(runtime, source([product(1)])) is not None, "nothing recorded"


async def test_a_database_behind_the_code_is_reported_before_anything_is_read(runtime, db):
    async with db.begin() as conn:
        await conn.execute(text("UPDATE alembic_version SET version_num = '0001'"))
    try:
        with pytest.raises(SchemaBehindError):
            await sync_source(runtime, source([product(1)]))
    finally:
        from app.db import migrate

        async with db.begin() as conn:
            heads = sorted(migrate.head_revisions())
            await conn.execute(text("UPDATE alembic_version SET version_num = :v"), {"v": heads[0]})


def load_shop(path: Path) -> object:
    from app.catalog.importer import load_catalog

    return load_catalog(path, max_catalog_bytes=10**7, max_photo_bytes=10**7).shop


def demo_shop_yaml(**changes: object) -> str:
    shop = yaml.safe_load(DEMO.read_text(encoding="utf-8"))["shop"]
    shop.update(changes)
    return yaml.safe_dump({"shop": shop}, allow_unicode=True, sort_keys=False)


async def test_the_shop_section_of_a_configmap_is_imported_from_either_key(
    runtime, session_factory
):
    shop = ShopService(session_factory)
    inside = yaml.safe_load(demo_shop_yaml())
    data = {"products_master.yaml": yaml.safe_dump({**inside, "products": [product(1)]})}
    first = await sync_source(runtime, catalog_source("shop", "one-file", data, None, {}))
    assert first is not None and first.plan.shop == "added"
    assert (await shop.get()) == load_shop(DEMO)

    # A CSV-era ConfigMap: the catalog under its key, the section under shop.yaml.
    data = {
        "products_master.yaml": catalog_yaml([product(1)]),
        "shop.yaml": demo_shop_yaml(hours=["Пн–Нд 10:00–19:00"]),
    }
    second = await sync_source(runtime, catalog_source("shop", "two-keys", data, None, {}))
    assert second is not None and second.plan.shop == "changed"
    stored = await shop.get()
    assert stored is not None and stored.hours == ["Пн–Нд 10:00–19:00"]


async def test_an_invalid_shop_yaml_key_names_its_line_and_writes_nothing(runtime, session_factory):
    data = {
        "products_master.yaml": catalog_yaml([product(1)]),
        "shop.yaml": demo_shop_yaml(returns={"days": 7}),
    }
    with pytest.raises(CatalogFileError) as caught:
        await sync_source(runtime, catalog_source("shop", "catalog", data, None, {}))
    [problem] = caught.value.problems
    assert problem.startswith("shop/catalog/shop.yaml:") and "shop.returns.days" in problem
    assert await skus(session_factory) == []
    assert await ShopService(session_factory).get() is None
