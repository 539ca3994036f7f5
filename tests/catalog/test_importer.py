"""Importing catalogs: photos checked, plans computed against the database, one transaction."""

from __future__ import annotations

import hashlib
from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import undefer

from app.catalog.errors import CatalogFileError
from app.catalog.importer import (
    CatalogItem,
    ImportPlan,
    import_catalog,
    load_catalog,
    load_upload,
)
from app.catalog.models import Photo, Product, Variant
from app.config import VisionSettings
from tests.catalog.factories import (
    catalog,
    catalog_version,
    db_state,
    png_bytes,
    product,
    product_count,
    write_csv,
    write_yaml,
)

MAX_CATALOG = 20 * 1024 * 1024
MAX_PHOTO = 64 * 1024


def load(path):
    return load_catalog(path, max_catalog_bytes=MAX_CATALOG, max_photo_bytes=MAX_PHOTO)


def sha_hasher(content: bytes) -> tuple[int, int | None]:
    """A stand-in for the perceptual hasher: the first 8 bytes of the sha256, signed."""
    digest = hashlib.sha256(content).digest()
    return int.from_bytes(digest[:8], "big", signed=True), int.from_bytes(digest[8:16], "big")


async def test_first_import_adds_every_product_with_its_variants_and_photos(
    session_factory, tmp_path
):
    items = load(write_yaml(tmp_path, catalog(3)))

    plan = await import_catalog(session_factory, items)

    assert plan == ImportPlan(added=["KR-KS-001", "KR-KS-002", "KR-KS-003"])
    async with session_factory() as session:
        stored = await session.scalar(select(Product).where(Product.sku == "KR-KS-001"))
        assert stored is not None
        assert stored.price == Decimal("1001.50")
        assert {(v.size, v.colour): v.on_hand for v in stored.variants} == {
            ("S", "рожевий"): 3, ("S", "бежевий"): 0, ("M", "рожевий"): 0,
            ("M", "бежевий"): 5, ("L", "рожевий"): 0, ("L", "бежевий"): 0,
        }  # fmt: skip
        photo = await session.scalar(select(Photo).options(undefer(Photo.content)).limit(1))
        assert photo is not None and photo.content is not None
        assert photo.content_type == "image/png"
        assert photo.sha256 == hashlib.sha256(photo.content).hexdigest()


async def test_importing_the_same_file_again_writes_nothing(session_factory, tmp_path):
    items = load(write_yaml(tmp_path, catalog(3)))
    await import_catalog(session_factory, items)
    version = await catalog_version(session_factory)

    plan = await import_catalog(session_factory, load(tmp_path / "products_master.yaml"))

    assert plan == ImportPlan(unchanged=3)
    assert plan.summary() == "added 0, changed 0, deactivated 0, unchanged 3"
    assert await catalog_version(session_factory) == version


async def test_a_price_change_is_reported_and_written_alone(session_factory, tmp_path):
    products = catalog(3)
    await import_catalog(session_factory, load(write_yaml(tmp_path, products)))
    products[1]["price"] = Decimal("999.99")

    plan = await import_catalog(session_factory, load(write_yaml(tmp_path, products)))

    assert plan.changed == {"KR-KS-002": ["price"]}
    assert plan.summary() == "added 0, changed 1 (KR-KS-002: price), deactivated 0, unchanged 2"
    assert plan.touched_skus() == ["KR-KS-002"]
    async with session_factory() as session:
        assert await session.scalar(
            select(Product.price).where(Product.sku == "KR-KS-002")
        ) == Decimal("999.99")


async def test_stock_changes_keep_the_variant_rows(session_factory, tmp_path):
    products = [product()]
    await import_catalog(session_factory, load(write_yaml(tmp_path, products)))
    async with session_factory() as session:
        ids_before = set(await session.scalars(select(Variant.id)))
    products[0]["stock"] = [{"size": "S", "colour": "рожевий", "qty": 7}]
    products[0]["sizes"] = ["S", "M", "L", "XL"]

    plan = await import_catalog(session_factory, load(write_yaml(tmp_path, products)))

    assert plan.changed == {"KR-KS-001": ["sizes", "stock"]}
    async with session_factory() as session:
        rows = (await session.execute(select(Variant.id, Variant.size, Variant.on_hand))).all()
    assert ids_before < {row.id for row in rows}
    assert sorted((size, stock) for _, size, stock in rows if stock) == [("S", 7)]


async def test_dry_run_writes_nothing(session_factory, tmp_path):
    products = catalog(2)
    await import_catalog(session_factory, load(write_yaml(tmp_path, products)))
    version, state = await catalog_version(session_factory), await db_state(session_factory)
    products[0]["tags"] = ["новий"]
    products.append(product("KR-NEW-001"))

    plan = await import_catalog(
        session_factory, load(write_yaml(tmp_path, products)), dry_run=True, prune=True
    )

    assert plan.summary() == (
        "would add 1, change 1 (KR-KS-001: tags), deactivate 0; unchanged 1 "
        "(dry run: nothing written)"
    )
    assert await catalog_version(session_factory) == version
    assert await db_state(session_factory) == state


async def test_prune_deactivates_products_missing_from_the_file(session_factory, tmp_path):
    await import_catalog(session_factory, load(write_yaml(tmp_path, catalog(3))))

    plan = await import_catalog(session_factory, load(write_yaml(tmp_path, catalog(1))), prune=True)

    assert plan.deactivated == ["KR-KS-002", "KR-KS-003"]
    assert plan.summary() == "added 0, changed 0, deactivated 2, unchanged 1"
    async with session_factory() as session:
        active = dict((await session.execute(select(Product.sku, Product.active))).all())
    assert active == {"KR-KS-001": True, "KR-KS-002": False, "KR-KS-003": False}


async def test_without_prune_missing_products_stay_active(session_factory, tmp_path):
    await import_catalog(session_factory, load(write_yaml(tmp_path, catalog(2))))

    plan = await import_catalog(session_factory, load(write_yaml(tmp_path, catalog(1))))

    assert plan.deactivated == []
    async with session_factory() as session:
        assert all(await session.scalars(select(Product.active)))


async def test_yaml_and_csv_of_one_catalog_give_the_same_database(session_factory, tmp_path):
    products = [*catalog(2), product("KR-HD-001", active=False, photos=[])]
    await import_catalog(session_factory, load(write_yaml(tmp_path, products)))
    from_yaml = await db_state(session_factory)

    plan = await import_catalog(session_factory, load(write_csv(tmp_path, products)))

    assert plan == ImportPlan(unchanged=3)
    assert await db_state(session_factory) == from_yaml


async def test_photo_problems_name_the_photo_line_and_nothing_is_written(session_factory, tmp_path):
    path = write_yaml(
        tmp_path,
        [
            product("KR-KS-001", photos=["photos/missing.png"]),
            product("KR-KS-002", photos=["photos/fake.png"]),
            product("KR-KS-003", photos=["photos/big.png"]),
            product("KR-KS-004", photos=["../secret.png", "ftp://x/y.png"]),
        ],
        photos=False,
    )
    (tmp_path / "photos").mkdir()
    (tmp_path / "photos" / "fake.png").write_text("not an image")
    (tmp_path / "photos" / "big.png").write_bytes(png_bytes() + b"\0" * 70_000)
    lines = path.read_text().splitlines()

    with pytest.raises(CatalogFileError) as caught:
        load(path)

    def line_of(text: str) -> int:
        return next(i for i, line in enumerate(lines, 1) if text in line)

    assert caught.value.problems == [
        f"{path}:{line_of('missing.png')}: KR-KS-001.photos[0]: no such file "
        f"'photos/missing.png' (looked for {tmp_path}/photos/missing.png)",
        f"{path}:{line_of('fake.png')}: KR-KS-002.photos[0]: 'photos/fake.png' is not a PNG, "
        "JPEG or WebP image",
        f"{path}:{line_of('big.png')}: KR-KS-003.photos[0]: 'photos/big.png' is 68.4 KB, "
        "the limit is 64.0 KB",
        f"{path}:{line_of('secret.png')}: KR-KS-004.photos[0]: '../secret.png': a photo path "
        "must be relative, inside the catalog file's folder",
        f"{path}:{line_of('ftp://')}: KR-KS-004.photos[1]: 'ftp://x/y.png': only files and "
        "http:// or https:// URLs are supported",
    ]
    assert await product_count(session_factory) == 0


async def test_url_photos_are_kept_without_content(session_factory, tmp_path):
    url = "https://cdn.example.com/KR-KS-001.jpg"
    items = load(write_yaml(tmp_path, [product(photos=[url])]))

    await import_catalog(session_factory, items)

    async with session_factory() as session:
        photo = await session.scalar(select(Photo).options(undefer(Photo.content)))
    assert photo is not None
    assert (photo.source, photo.content, photo.sha256) == (url, None, None)


async def test_a_changed_photo_replaces_the_stored_bytes(session_factory, tmp_path):
    path = write_yaml(tmp_path, [product(photos=["photos/a.png", "photos/b.png"])])
    await import_catalog(session_factory, load(path))
    (tmp_path / "photos" / "a.png").write_bytes(png_bytes(99))
    write_yaml(tmp_path, [product(photos=["photos/a.png"])], photos=False)

    plan = await import_catalog(session_factory, load(path))

    assert plan.changed == {"KR-KS-001": ["photos"]}
    async with session_factory() as session:
        photos = (await session.scalars(select(Photo).options(undefer(Photo.content)))).all()
    assert [(p.position, p.content) for p in photos] == [(0, png_bytes(99))]


async def test_the_photo_hasher_fills_phash_and_colorhash_once(session_factory, tmp_path):
    calls: list[bytes] = []

    def counting_hasher(content: bytes) -> tuple[int, int | None]:
        calls.append(content)
        return sha_hasher(content)

    path = write_yaml(tmp_path, catalog(2))
    await import_catalog(session_factory, load(path), photo_hasher=counting_hasher)
    async with session_factory() as session:
        photo = await session.scalar(select(Photo).options(undefer(Photo.content)).limit(1))
    assert photo is not None and photo.content is not None
    assert (photo.phash, photo.colorhash) == sha_hasher(photo.content)
    assert len(calls) == 2

    plan = await import_catalog(session_factory, load(path), photo_hasher=counting_hasher)

    assert plan == ImportPlan(unchanged=2)
    assert len(calls) == 2


async def test_photos_imported_before_hashing_get_hashes_later(session_factory, tmp_path):
    path = write_yaml(tmp_path, catalog(1))
    await import_catalog(session_factory, load(path))

    plan = await import_catalog(session_factory, load(path), photo_hasher=sha_hasher)

    assert plan.changed == {"KR-KS-001": ["photos"]}
    async with session_factory() as session:
        assert None not in set(await session.scalars(select(Photo.phash)))


async def test_a_photo_the_hasher_cannot_read_fails_the_import(session_factory, tmp_path):
    def broken(content: bytes) -> tuple[int, int | None]:
        raise ValueError("truncated image")

    path = write_yaml(tmp_path, catalog(1))

    with pytest.raises(CatalogFileError) as caught:
        await import_catalog(session_factory, load(path), photo_hasher=broken)

    [problem] = caught.value.problems
    assert problem.endswith("KR-KS-001.photos[0]: cannot read the image: truncated image")
    assert await product_count(session_factory) == 0


async def test_a_failure_part_way_leaves_the_database_unchanged(session_factory, tmp_path):
    products = catalog(2)
    await import_catalog(session_factory, load(write_yaml(tmp_path, products)))
    version, state = await catalog_version(session_factory), await db_state(session_factory)
    products[0]["price"] = Decimal("1.00")
    items = load(write_yaml(tmp_path, [*products, product("KR-NEW-001")]))
    # The same new SKU twice cannot come from a file; here it makes the second INSERT fail.
    duplicate = CatalogItem(items[-1].product, items[-1].photos)

    with pytest.raises(IntegrityError):
        await import_catalog(session_factory, [*items, duplicate])

    assert await catalog_version(session_factory) == version
    assert await db_state(session_factory) == state


async def test_an_upload_takes_its_photos_from_the_request(session_factory, tmp_path):
    path = write_yaml(tmp_path, catalog(1), photos=False)

    def upload(photos: dict[str, bytes] | None) -> list[CatalogItem]:
        return load_upload(
            path.read_bytes(),
            name="upload",
            photos=photos,
            max_catalog_bytes=MAX_CATALOG,
            max_photo_bytes=MAX_PHOTO,
        )

    items = upload({"photos/KR-KS-001.png": png_bytes(5)})
    await import_catalog(session_factory, items)

    assert items[0].photos[0].content == png_bytes(5)
    with pytest.raises(CatalogFileError, match=r"'photos/KR-KS-001\.png' was not uploaded"):
        upload(None)


async def test_photos_of_invalid_products_are_checked_too(tmp_path):
    path = write_yaml(
        tmp_path, [product(price=Decimal("-1"), photos=["photos/missing.png"])], photos=False
    )

    with pytest.raises(CatalogFileError) as caught:
        load(path)

    assert [p.split(": ", 2)[1] for p in caught.value.problems] == [
        "KR-KS-001.price",
        "KR-KS-001.photos[0]",
    ]


async def test_the_catalog_hasher_stores_features_with_each_photo_once(session_factory, tmp_path):
    from app.vision.features import decode
    from app.vision.pipeline import catalog_photo_hasher, features_version
    from app.vision.vocabulary import decode_words

    hasher = catalog_photo_hasher(VisionSettings())
    calls: list[bytes] = []

    def counting(content: bytes):
        calls.append(content)
        return hasher(content)

    counting.features_version = hasher.features_version  # type: ignore[attr-defined]
    path = write_yaml(tmp_path, catalog(2))

    await import_catalog(session_factory, load(path), photo_hasher=counting)
    again = await import_catalog(session_factory, load(path), photo_hasher=counting)

    async with session_factory() as session:
        rows = (
            await session.scalars(
                select(Photo).options(undefer(Photo.features), undefer(Photo.feature_words))
            )
        ).all()
    assert again == ImportPlan(unchanged=2) and len(calls) == 2
    for row in rows:
        assert row.features_version == features_version()
        assert row.features is not None and row.feature_words is not None
        stored = decode(row.features)
        assert len(decode_words(row.feature_words)) == len(stored)


async def test_photos_with_features_of_another_version_get_them_again(session_factory, tmp_path):
    from app.vision.pipeline import catalog_photo_hasher

    path = write_yaml(tmp_path, catalog(1))
    await import_catalog(session_factory, load(path), photo_hasher=sha_hasher)  # no features
    hasher = catalog_photo_hasher(VisionSettings())

    plan = await import_catalog(session_factory, load(path), photo_hasher=hasher)

    assert plan.changed == {"KR-KS-001": ["photos"]}
    async with session_factory() as session:
        versions = set(await session.scalars(select(Photo.features_version)))
    assert versions == {hasher.features_version}


async def test_a_photo_moved_to_another_position_keeps_its_features(session_factory, tmp_path):
    from app.vision.pipeline import catalog_photo_hasher

    hasher = catalog_photo_hasher(VisionSettings())
    first = product("KR-KS-001", photos=["photos/KR-KS-001.png", "photos/b.png"])
    path = write_yaml(tmp_path, [first])
    (tmp_path / "photos" / "b.png").write_bytes(png_bytes(77, size=64))
    await import_catalog(session_factory, load(path), photo_hasher=hasher)
    swapped = product("KR-KS-001", photos=["photos/b.png", "photos/KR-KS-001.png"])

    await import_catalog(
        session_factory, load(write_yaml(tmp_path, [swapped])), photo_hasher=hasher
    )

    async with session_factory() as session:
        rows = (await session.execute(select(Photo.source, Photo.features_version))).all()
    assert {version for _, version in rows} == {hasher.features_version}
