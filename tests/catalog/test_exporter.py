"""Exporting the catalog: the import format again, photos beside it, and a lossless round trip."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from app.catalog.exporter import export_catalog, render_catalog
from app.catalog.importer import ImportPlan, import_catalog, load_catalog
from tests.catalog.factories import (
    catalog,
    catalog_version,
    db_state,
    png_bytes,
    product,
    write_yaml,
)


def load(path):
    return load_catalog(path, max_catalog_bytes=20 * 1024 * 1024, max_photo_bytes=1024 * 1024)


def awkward_catalog():
    """Products that exercise quoting, ordering and every optional field."""
    return [
        *catalog(2),
        product(
            "KR-JN-042",
            name="Джинси: «Класика» # 1",
            price=Decimal("0.50"),
            description="Перший рядок.\nДругий рядок з 'лапками' і \"подвійними\".",
            sizes=["42", "44", "no"],
            colours=["синій", "yes"],
            stock=[{"size": "44", "colour": "yes", "qty": 2}],
            tags=[],
            photos=["https://cdn.example.com/jeans.jpg", "photos/KR-JN-042.png"],
        ),
        product("KR-OLD-001", active=False, stock=[], photos=[], visual_features=""),
    ]


@pytest.fixture(name="imported")
async def fx_imported(session_factory, tmp_path):
    """The awkward catalog imported from tmp_path/source."""
    source = tmp_path / "source"
    source.mkdir()
    await import_catalog(session_factory, load(write_yaml(source, awkward_catalog())))
    return source


async def test_importing_an_export_changes_nothing(session_factory, imported, tmp_path):
    out = tmp_path / "export" / "products_master.yaml"
    out.parent.mkdir()
    version, state = await catalog_version(session_factory), await db_state(session_factory)

    count = await export_catalog(session_factory, out)
    plan = await import_catalog(session_factory, load(out), prune=True)

    assert count == 4
    assert plan == ImportPlan(unchanged=4)
    assert await catalog_version(session_factory) == version
    assert await db_state(session_factory) == state


async def test_exporting_twice_gives_the_same_bytes(session_factory, imported, tmp_path):
    first, second = tmp_path / "a" / "catalog.yaml", tmp_path / "b" / "catalog.yaml"
    await export_catalog(session_factory, first)
    await import_catalog(session_factory, load(first))

    await export_catalog(session_factory, second)

    assert second.read_bytes() == first.read_bytes()


async def test_the_export_reads_like_the_hand_written_file(session_factory, imported, tmp_path):
    out = tmp_path / "products_master.yaml"

    await export_catalog(session_factory, out)

    text = out.read_text(encoding="utf-8")
    assert text.startswith("products:\n  - sku: KR-JN-042\n")
    assert "    price: 1001.50\n" in text
    assert "    price: 0.50\n" in text
    assert "    name: Костюм 1\n" in text  # Ukrainian unescaped
    assert "    sizes: [S, M, L]\n" in text
    assert "      - {size: S, colour: рожевий, qty: 3}\n" in text
    assert "    photos: ['https://cdn.example.com/jeans.jpg', photos/KR-JN-042.png]\n" in text
    assert (
        '    description: "Плюшевий костюм: худі на блискавці і джогери. Дуже м\'який."\n' in text
    )
    assert "    description: |-\n      Перший рядок.\n" in text
    assert text.count("active:") == 1
    assert "    active: false\n" in text


async def test_photos_are_written_beside_the_export_once(session_factory, imported, tmp_path):
    out = tmp_path / "out" / "products_master.yaml"
    await export_catalog(session_factory, out)
    photo = out.parent / "photos" / "KR-KS-001.png"
    stamp = photo.stat().st_mtime_ns
    photo.with_name("KR-KS-002.png").write_bytes(b"stale")

    await export_catalog(session_factory, out)

    assert photo.read_bytes() == (imported / "photos" / "KR-KS-001.png").read_bytes()
    assert photo.stat().st_mtime_ns == stamp  # identical: left alone
    assert photo.with_name("KR-KS-002.png").read_bytes() != b"stale"
    assert sorted(p.name for p in photo.parent.iterdir()) == [
        "KR-JN-042.png",
        "KR-KS-001.png",
        "KR-KS-002.png",
    ]


async def test_different_photos_with_one_basename_do_not_overwrite_each_other(
    session_factory, tmp_path
):
    source = tmp_path / "source"
    for folder, seed in (("a", 1), ("b", 2)):
        (source / folder).mkdir(parents=True)
        (source / folder / "front.png").write_bytes(png_bytes(seed))
    products = [
        product("KR-KS-001", photos=["a/front.png"]),
        product("KR-KS-002", photos=["b/front.png"]),
    ]
    await import_catalog(session_factory, load(write_yaml(source, products, photos=False)))
    out = tmp_path / "out" / "catalog.yaml"

    await export_catalog(session_factory, out)

    files = {p.name: p.read_bytes() for p in (out.parent / "photos").iterdir()}
    assert files.pop("front.png") == png_bytes(1)
    [(name, content)] = files.items()
    assert name.startswith("front-") and content == png_bytes(2)


async def test_the_yaml_alone_can_be_rendered_for_stdout(session_factory, imported, tmp_path):
    out = tmp_path / "products_master.yaml"
    await export_catalog(session_factory, out)

    assert await render_catalog(session_factory) == out.read_text(encoding="utf-8")


DEMO = Path(__file__).parents[2] / "data" / "catalog" / "products_master.yaml"


@pytest.mark.skipif(not DEMO.exists(), reason="the demo catalog is not in this checkout")
async def test_the_demo_catalog_survives_a_round_trip(session_factory, tmp_path):
    first = await import_catalog(session_factory, load(DEMO))
    version = await catalog_version(session_factory)
    out = tmp_path / "products_master.yaml"

    await export_catalog(session_factory, out)
    again = await import_catalog(session_factory, load(out))

    assert first.added and not first.changed
    assert first.shop == "added"  # the demo shop's delivery, payment, returns, ...
    assert again == ImportPlan(unchanged=len(first.added), shop="unchanged")
    assert await catalog_version(session_factory) == version
