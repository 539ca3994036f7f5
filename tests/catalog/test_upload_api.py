"""Whole-catalog upload and export through the admin API."""

from __future__ import annotations

from decimal import Decimal

import yaml

from tests.catalog.factories import catalog, png_bytes, write_yaml
from tests.fixtures_app import ADMIN


def _multipart(path, photos: dict[str, bytes] | None = None):
    files = [("file", (path.name, path.read_bytes(), "application/yaml"))]
    files += [("photos", (name, data, "image/png")) for name, data in (photos or {}).items()]
    return files


async def test_upload_imports_a_catalog_with_its_photos(client, tmp_path):
    products = catalog(2)
    path = write_yaml(tmp_path, products, photos=False)
    photos = {p["photos"][0]: png_bytes(i) for i, p in enumerate(products)}

    response = await client.post(
        "/api/v1/admin/catalog/import", files=_multipart(path, photos), headers=ADMIN
    )

    assert response.status_code == 200, response.text
    assert response.json()["added"] == ["KR-KS-001", "KR-KS-002"]
    card = (await client.get("/api/v1/products/KR-KS-001")).json()
    photo = await client.get(card["photos"][0]["url"])
    assert photo.status_code == 200 and photo.content == photos["photos/KR-KS-001.png"]
    assert photo.headers["content-type"] == "image/png"


async def test_photos_uploaded_under_their_file_name_alone_are_found(client, tmp_path):
    # Browsers send a file input's name without its folder: `KR-KS-001.png`, not `photos/...`.
    path = write_yaml(tmp_path, catalog(1), photos=False)
    photos = {"KR-KS-001.png": png_bytes(1)}

    response = await client.post(
        "/api/v1/admin/catalog/import", files=_multipart(path, photos), headers=ADMIN
    )

    assert response.status_code == 200, response.text
    card = (await client.get("/api/v1/products/KR-KS-001")).json()
    assert (await client.get(card["photos"][0]["url"])).content == photos["KR-KS-001.png"]


async def test_reupload_without_photos_reuses_the_stored_ones(client, tmp_path):
    products = catalog(1)
    path = write_yaml(tmp_path, products, photos=False)
    first = {"photos/KR-KS-001.png": png_bytes(1)}
    await client.post("/api/v1/admin/catalog/import", files=_multipart(path, first), headers=ADMIN)

    products[0]["price"] = Decimal("999.00")
    path = write_yaml(tmp_path, products, photos=False)
    response = await client.post(
        "/api/v1/admin/catalog/import", files=_multipart(path), headers=ADMIN
    )

    assert response.status_code == 200, response.text
    assert response.json()["changed"] == {"KR-KS-001": ["price"]}
    assert (await client.get("/api/v1/products/KR-KS-001")).json()["price"] == "999.00"


async def test_invalid_upload_is_422_with_every_problem_and_writes_nothing(client, tmp_path):
    products = catalog(2)
    products[1]["price"] = Decimal("-1")
    products[0]["stock"] = [{"size": "XXL", "colour": "рожевий", "qty": 1}]
    path = write_yaml(tmp_path, products, photos=False)

    response = await client.post(
        "/api/v1/admin/catalog/import", files=_multipart(path), headers=ADMIN
    )

    assert response.status_code == 422
    problems = response.json()["problems"]
    assert any("products_master.yaml:" in p and "KR-KS-002.price" in p for p in problems)
    assert any("KR-KS-001.stock[0].size" in p for p in problems)
    assert any("was not uploaded" in p for p in problems)
    assert (await client.get("/api/v1/products")).json()["total"] == 0


async def test_dry_run_upload_reports_without_writing(client, tmp_path):
    path = write_yaml(tmp_path, catalog(1), photos=False)
    response = await client.post(
        "/api/v1/admin/catalog/import",
        params={"dry_run": "true"},
        files=_multipart(path, {"photos/KR-KS-001.png": png_bytes(3)}),
        headers=ADMIN,
    )
    assert response.json()["dry_run"] is True and response.json()["added"] == ["KR-KS-001"]
    assert (await client.get("/api/v1/products/KR-KS-001")).status_code == 404


async def test_upload_needs_the_admin_token(client, tmp_path):
    path = write_yaml(tmp_path, catalog(1), photos=False)
    response = await client.post("/api/v1/admin/catalog/import", files=_multipart(path))
    assert response.status_code == 401


async def test_export_returns_the_catalog_yaml(client, tmp_path):
    path = write_yaml(tmp_path, catalog(1), photos=False)
    await client.post(
        "/api/v1/admin/catalog/import",
        files=_multipart(path, {"photos/KR-KS-001.png": png_bytes(4)}),
        headers=ADMIN,
    )
    response = await client.get("/api/v1/admin/catalog/export", headers=ADMIN)
    assert response.status_code == 200
    exported = yaml.safe_load(response.text)
    assert exported["products"][0]["sku"] == "KR-KS-001"
    assert exported["products"][0]["photos"] == ["photos/KR-KS-001.png"]
