"""`kramar catalog import/export` against the test database, as a person runs them."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from tests.catalog.factories import (
    catalog,
    catalog_version,
    db_state,
    product,
    product_count,
    write_csv,
    write_yaml,
)


def kramar_executable() -> str:
    beside_python = Path(sys.executable).with_name("kramar")
    return str(beside_python) if beside_python.exists() else shutil.which("kramar") or "kramar"


async def run_process(env: dict[str, str], cwd: Path, *args: str) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        kramar_executable(),
        *args,
        cwd=cwd,
        env={**os.environ, **env},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def test_import_in_a_real_process_prints_what_it_did(env, session_factory, tmp_path):
    path = write_yaml(tmp_path, catalog(3))

    code, out, err = await run_process(env, tmp_path, "catalog", "import", str(path))

    assert code == 0, err
    assert out == f"{path}: added 3, changed 0, deactivated 0, unchanged 0\n"
    assert await product_count(session_factory) == 3


async def test_a_bad_file_in_a_real_process_exits_1_and_writes_nothing(
    env, session_factory, tmp_path
):
    await run_process(env, tmp_path, "catalog", "import", str(write_yaml(tmp_path, catalog(2))))
    version = await catalog_version(session_factory)
    products = catalog(3)
    products[2]["price"] = Decimal("-5")
    path = write_yaml(tmp_path, products)

    code, out, err = await run_process(env, tmp_path, "catalog", "import", str(path))

    assert (code, out) == (1, "")
    where = re.escape(str(path))
    assert re.search(rf"(?m)^{where}:\d+: KR-KS-003\.price: must not be negative", err)
    assert err.endswith("1 problem(s): nothing imported\n")
    assert await catalog_version(session_factory) == version
    assert await product_count(session_factory) == 2


def _bad_yaml(tmp_path: Path, change: str) -> Path:
    products = catalog(2)
    first = products[0]
    if change == "negative price":
        first["price"] = Decimal("-1.00")
    elif change == "price with 3 decimals":
        first["price"] = Decimal("1.005")
    elif change == "negative stock":
        first["stock"][0]["qty"] = -1
    elif change == "unknown size in stock":
        first["stock"][0]["size"] = "XXL"
    elif change == "unknown field":
        first["colour"] = "рожевий"
    elif change == "duplicate SKU":
        products[1]["sku"] = first["sku"]
    elif change == "missing photo":
        first["photos"] = ["photos/nope.png"]
    path = write_yaml(tmp_path, products)
    if change == "missing photo":
        (tmp_path / "photos" / "nope.png").unlink()
    if change == "non-image photo":
        (tmp_path / first["photos"][0]).write_text("<html>not a photo</html>")
    if change == "invalid YAML":
        path.write_text(path.read_text().replace("sizes:", "sizes: [", 1))
    return path


CSV_CHANGES = {"wrong CSV header", "non-numeric qty", "conflicting product fields"}


def _bad_csv(tmp_path: Path, change: str) -> Path:
    path = write_csv(tmp_path, catalog(2))
    lines = path.read_text().splitlines(keepends=True)
    if change == "wrong CSV header":
        lines[0] = lines[0].replace("colours", "colors")
    elif change == "non-numeric qty":
        lines[1] = lines[1].replace(",рожевий,3,", ",рожевий,три,")
    elif change == "conflicting product fields":
        lines[2] = lines[2].replace("KR-KS-001,,", "KR-KS-001,Інша назва,", 1)
    path.write_text("".join(lines))
    return path


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ("invalid YAML", r"products_master\.yaml:\d+: YAML syntax"),
        ("duplicate SKU", r"products_master\.yaml:\d+: KR-KS-001\.sku: SKU KR-KS-001 is also used"),
        ("negative price", r"products_master\.yaml:\d+: KR-KS-001\.price: "),
        ("price with 3 decimals", r"products_master\.yaml:\d+: KR-KS-001\.price: must have at"),
        ("negative stock", r"products_master\.yaml:\d+: KR-KS-001\.stock\[0\]\.qty: "),
        ("unknown size in stock", r"products_master\.yaml:\d+: KR-KS-001\.stock\[0\]\.size: "),
        ("unknown field", r"products_master\.yaml:\d+: KR-KS-001\.colour: unknown field"),
        ("missing photo", r"products_master\.yaml:\d+: KR-KS-001\.photos\[0\]: no such file"),
        ("non-image photo", r"products_master\.yaml:\d+: KR-KS-001\.photos\[0\]: .* is not a PNG"),
        ("wrong CSV header", r"products\.csv:1: header: unknown column\(s\) 'colors'"),
        ("non-numeric qty", r"products\.csv:2: KR-KS-001\.qty: must be a whole number of pieces"),
        ("conflicting product fields", r"products\.csv:3: KR-KS-001\.name: .* on line 2"),
        ("50 MB file", r"products_master\.yaml: file is 50\.0 MB, the limit is 20\.0 MB"),
    ],
)
async def test_a_bad_catalog_is_refused_and_the_database_is_unchanged(
    kramar, session_factory, tmp_path, change, expected
):
    await kramar("catalog", "import", str(write_yaml(tmp_path / "good", catalog(1), photos=True)))
    version, state = await catalog_version(session_factory), await db_state(session_factory)
    if change == "50 MB file":
        path = tmp_path / "products_master.yaml"
        with path.open("wb") as file:
            file.truncate(50 * 1024 * 1024)  # sparse: instant
    elif change in CSV_CHANGES:
        path = _bad_csv(tmp_path, change)
    else:
        path = _bad_yaml(tmp_path, change)

    code, _, err = await kramar("catalog", "import", str(path))

    assert code == 1
    assert re.search(expected, err), err
    assert await catalog_version(session_factory) == version
    assert await db_state(session_factory) == state


async def test_dry_run_says_would_and_writes_nothing(kramar, session_factory, tmp_path):
    await kramar("catalog", "import", str(write_yaml(tmp_path, catalog(2))))
    version = await catalog_version(session_factory)
    products = catalog(2)
    products[0]["price"] = Decimal("1.00")
    path = write_yaml(tmp_path, products)

    code, out, _ = await kramar("catalog", "import", "--dry-run", str(path))

    assert code == 0
    assert out == (
        f"{path}: would add 0, change 1 (KR-KS-001: price), deactivate 0; unchanged 1 "
        "(dry run: nothing written)\n"
    )
    assert await catalog_version(session_factory) == version


async def test_prune_deactivates_what_the_file_no_longer_lists(kramar, tmp_path):
    await kramar("catalog", "import", str(write_yaml(tmp_path, catalog(3))))

    _, out, _ = await kramar("catalog", "import", "--prune", str(write_yaml(tmp_path, catalog(1))))

    assert out.endswith(": added 0, changed 0, deactivated 2, unchanged 1\n")


async def test_if_empty_imports_the_default_file_only_into_an_empty_catalog(
    kramar, session_factory, tmp_path
):
    write_yaml(tmp_path, catalog(2))  # KRAMAR_CATALOG_FILE

    first = await kramar("catalog", "import", "--if-empty")
    write_yaml(tmp_path, [product("KR-NEW-001")])
    second = await kramar("catalog", "import", "--if-empty")

    assert first[:2] == (
        0,
        f"{tmp_path}/products_master.yaml: added 2, changed 0, deactivated 0, unchanged 0\n",
    )
    assert second[:2] == (0, "the catalog has 2 products: nothing imported (--if-empty)\n")
    assert await product_count(session_factory) == 2


async def test_csv_imports_like_yaml(kramar, session_factory, tmp_path):
    products = catalog(2)
    await kramar("catalog", "import", str(write_yaml(tmp_path, products)))

    code, out, _ = await kramar("catalog", "import", str(write_csv(tmp_path, products)))

    assert (code, out.split(": ", 1)[1]) == (0, "added 0, changed 0, deactivated 0, unchanged 2\n")


async def test_export_writes_yaml_and_photos_or_yaml_to_stdout(kramar, tmp_path):
    await kramar("catalog", "import", str(write_yaml(tmp_path / "in", catalog(2))))
    out = tmp_path / "out" / "catalog.yaml"

    code, printed, _ = await kramar("catalog", "export", str(out))
    _, stdout, _ = await kramar("catalog", "export", "-")

    assert (code, printed) == (0, f"exported 2 products to {out}\n")
    assert sorted(p.name for p in (out.parent / "photos").iterdir()) == [
        "KR-KS-001.png",
        "KR-KS-002.png",
    ]
    assert stdout == out.read_text(encoding="utf-8")
    reimport = await kramar("catalog", "import", str(out))
    assert reimport[1].endswith("added 0, changed 0, deactivated 0, unchanged 2\n")
