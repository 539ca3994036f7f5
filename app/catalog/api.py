"""Catalog REST API: public reads under /api/v1/products, admin writes under /api/v1/admin."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated

from litestar import Controller, MediaType, Response, get, patch, post, put
from litestar.datastructures import State, UploadFile
from litestar.di import NamedDependency, Provide
from litestar.enums import RequestEncodingType
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import Body, JSONBody, Parameter

from app.admin.auth import admin_guard
from app.catalog import schemas
from app.catalog.exporter import render_catalog
from app.catalog.importer import import_catalog as run_import
from app.catalog.importer import load_upload_items
from app.catalog.service import CatalogService
from app.vision.pipeline import catalog_photo_hasher

if TYPE_CHECKING:
    from collections.abc import AsyncIterator


async def provide_catalog(state: State) -> AsyncIterator[CatalogService]:
    async with CatalogService(
        state.db.session_factory, product_cache=state.product_cache, version=state.catalog_version
    ) as catalog:
        yield catalog


Catalog = NamedDependency[CatalogService]
SkuParam = Annotated[str, Parameter(description="Product SKU, e.g. KR-KS-001", max_length=32)]


class ProductController(Controller):
    path = "/api/v1/products"
    tags = ["catalog"]
    dependencies = {"catalog": Provide(provide_catalog)}

    @get("/", operation_id="ListProducts", summary="Search and list active products")
    async def list_products(
        self,
        catalog: Catalog,
        q: Annotated[
            str | None,
            Parameter(
                description="Words to find in SKU, name, description, category or tags",
                max_length=200,
            ),
        ] = None,
        category: Annotated[
            str | None,
            Parameter(description="Only this category (case-insensitive)", max_length=80),
        ] = None,
        in_stock: Annotated[
            bool | None,
            Parameter(description="true: only products with some stock; false: only sold-out ones"),
        ] = None,
        min_price: Annotated[Decimal | None, Parameter(description="Lowest price in UAH")] = None,
        max_price: Annotated[Decimal | None, Parameter(description="Highest price in UAH")] = None,
        limit: Annotated[int, Parameter(description="Page size", ge=1, le=100)] = 20,
        offset: Annotated[int, Parameter(description="Items to skip", ge=0)] = 0,
    ) -> schemas.ProductPage:
        return await catalog.search(
            query=q,
            category=category,
            in_stock=in_stock,
            min_price=min_price,
            max_price=max_price,
            limit=limit,
            offset=offset,
        )

    @get(
        "/{sku:str}",
        operation_id="GetProduct",
        summary="One product card with variants and photos",
        responses={200: ResponseSpec(data_container=schemas.Product, description="The card")},
    )
    async def get_product(self, catalog: Catalog, sku: SkuParam) -> Response[bytes]:
        # The cache keeps each card's JSON: sent as stored, not parsed and encoded again.
        return Response(await catalog.get_product_json(sku), media_type=MediaType.JSON)

    @get("/{sku:str}/stock", operation_id="GetProductStock", summary="Stock per size × colour")
    async def get_product_stock(
        self,
        catalog: Catalog,
        sku: SkuParam,
        size: Annotated[
            str | None, Parameter(description="Only this size, e.g. M", max_length=40)
        ] = None,
        colour: Annotated[
            str | None, Parameter(description="Only this colour, e.g. чорний", max_length=60)
        ] = None,
    ) -> schemas.StockAnswer:
        return await catalog.check_stock(sku, size=size, colour=colour)

    @get(
        "/{sku:str}/photos/{position:int}",
        operation_id="GetProductPhoto",
        summary="A stored product photo",
        media_type="image/*",
        cache=3600,
    )
    async def get_product_photo(
        self,
        catalog: Catalog,
        sku: SkuParam,
        position: Annotated[int, Parameter(description="Photo number, from 0", ge=0)],
    ) -> Response[bytes]:
        content, content_type = await catalog.photo(sku, position)
        return Response(content, media_type=content_type)


class AdminProductController(Controller):
    """Catalog writes for the shop's manager; only registered when KRAMAR_ADMIN_TOKEN is set."""

    path = "/api/v1/admin/products"
    tags = ["admin"]
    guards = [admin_guard]
    dependencies = {"catalog": Provide(provide_catalog)}
    security = [{"BearerToken": []}]

    @post("/", operation_id="CreateProduct", summary="Add a product (photos as http(s) URLs)")
    async def create_product(
        self, catalog: Catalog, data: JSONBody[schemas.ProductIn]
    ) -> schemas.Product:
        return await catalog.create_product(data)

    @get("/{sku:str}", operation_id="AdminGetProduct", summary="A product card, also when inactive")
    async def admin_get_product(self, catalog: Catalog, sku: SkuParam) -> schemas.Product:
        return await catalog.get_product(sku, include_inactive=True)

    @patch("/{sku:str}", operation_id="UpdateProduct", summary="Change some fields of a product")
    async def update_product(
        self, catalog: Catalog, sku: SkuParam, data: JSONBody[schemas.ProductUpdate]
    ) -> schemas.Product:
        return await catalog.update_product(sku, data)

    @put("/{sku:str}/price", operation_id="SetProductPrice", summary="Set the price in UAH")
    async def set_product_price(
        self, catalog: Catalog, sku: SkuParam, data: JSONBody[schemas.PriceUpdate]
    ) -> schemas.Product:
        return await catalog.set_price(sku, data.price)

    @put(
        "/{sku:str}/stock",
        operation_id="SetVariantStock",
        summary="Set the stock of one size × colour",
    )
    async def set_variant_stock(
        self, catalog: Catalog, sku: SkuParam, data: JSONBody[schemas.StockUpdate]
    ) -> schemas.Product:
        return await catalog.set_stock(sku, data.size, data.colour, data.qty)

    @post(
        "/{sku:str}/deactivate",
        operation_id="DeactivateProduct",
        summary="Hide a product from customers",
        status_code=200,
    )
    async def deactivate_product(self, catalog: Catalog, sku: SkuParam) -> schemas.Product:
        return await catalog.deactivate(sku)


@dataclass
class CatalogUpload:
    """A catalog file and, optionally, photo files named as the catalog names them."""

    file: UploadFile
    photos: list[UploadFile] = field(default_factory=list)


class AdminCatalogController(Controller):
    """Whole-catalog upload and download for the shop's manager."""

    path = "/api/v1/admin/catalog"
    tags = ["admin"]
    guards = [admin_guard]
    dependencies = {"catalog": Provide(provide_catalog)}
    security = [{"BearerToken": []}]

    @post(
        "/import",
        operation_id="ImportCatalog",
        summary="Upload products_master.yaml or a CSV (multipart: file, photos)",
        description=(
            "Validates the whole file first: any problem gives 422 with every problem as "
            "`file:line: field: what is wrong`, and nothing is written. Photos the file names "
            "may be uploaded as `photos` parts whose file names are the paths in the catalog "
            "(e.g. photos/KR-KS-001.png); photos already stored under the same path are reused."
        ),
        status_code=200,
    )
    async def import_catalog(
        self,
        state: State,
        catalog: Catalog,
        data: Annotated[CatalogUpload, Body(media_type=RequestEncodingType.MULTI_PART)],
        dry_run: Annotated[bool, Parameter(description="Only report what would change")] = False,
        prune: Annotated[
            bool, Parameter(description="Deactivate products missing from the file")
        ] = False,
    ) -> schemas.ImportResult:
        settings = state.settings
        uploads = {photo.filename: await photo.read() for photo in data.photos}
        items = await load_upload_items(
            await data.file.read(),
            name=data.file.filename or "catalog",
            photos=uploads,
            stored=catalog.stored_photos,
            max_catalog_bytes=settings.max_catalog_bytes,
            max_photo_bytes=settings.max_photo_bytes,
        )
        plan = await run_import(
            state.db.session_factory,
            items,
            prune=prune,
            dry_run=dry_run,
            photo_hasher=catalog_photo_hasher(settings.vision),
        )
        if not dry_run:
            state.catalog_version.observe(await catalog.catalog_version())
        return schemas.ImportResult(
            added=plan.added,
            changed=plan.changed,
            deactivated=plan.deactivated,
            unchanged=plan.unchanged,
            dry_run=plan.dry_run,
            summary=plan.summary(),
        )

    @get(
        "/export",
        operation_id="ExportCatalog",
        summary="The catalog as products_master.yaml (photo paths as stored)",
        media_type="application/yaml",
    )
    async def export_catalog(self, state: State) -> Response[str]:
        text = await render_catalog(state.db.session_factory)
        return Response(
            text,
            media_type="application/yaml; charset=utf-8",
            headers={"Content-Disposition": 'attachment; filename="products_master.yaml"'},
        )
