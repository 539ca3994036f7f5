"""Catalog REST API: public reads under /api/v1/products, admin writes under /api/v1/admin."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Any

from litestar import Controller, MediaType, Request, Response, get, patch, post, put
from litestar.datastructures import State, UploadFile
from litestar.di import NamedDependency, Provide
from litestar.enums import RequestEncodingType
from litestar.exceptions import ValidationException
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import Body, JSONBody, Parameter
from litestar.status_codes import HTTP_304_NOT_MODIFIED
from pydantic import TypeAdapter, ValidationError

from app.admin.auth import admin_guard
from app.catalog import schemas
from app.catalog.exporter import render_catalog
from app.catalog.service import CatalogService
from app.inputs import BIGINT_MAX, INT32_MAX
from app.vision.pipeline import catalog_photo_hasher

if TYPE_CHECKING:
    from collections.abc import AsyncIterator


def catalog_of(state: State) -> CatalogService:
    """The catalog service on the app's database and caches (use as `async with`)."""
    return CatalogService(
        state.db.session_factory,
        product_cache=state.product_cache,
        version=state.catalog_version,
        page_cache=state.get("page_cache"),
    )


async def provide_catalog(state: State) -> AsyncIterator[CatalogService]:
    async with catalog_of(state) as catalog:
        yield catalog


def _not_modified(request: Request[Any, Any, Any], etag: str) -> bool:
    """Whether the client's `If-None-Match` names `etag` (or `*`)."""
    given = request.headers.get("if-none-match")
    if not given:
        return False
    tags = {tag.strip().removeprefix("W/") for tag in given.split(",")}
    return etag in tags or "*" in tags


def price_parameter(name: str, value: Decimal | None) -> Decimal | None:
    """A price given as a query parameter, checked like a price in a body (finite, 0 to the
    column's largest, kopecks); a 422 naming the parameter otherwise.

    Checked here because Litestar's parameter parsing (msgspec) takes no bounds on decimals.
    """
    if value is None:
        return None
    try:
        return PRICE.validate_python(value)
    except ValidationError as error:
        problem = error.errors(include_url=False)[0]["msg"]
        raise ValidationException(
            detail=f"{name}: {problem}",
            extra=[{"key": name, "source": "query", "message": problem}],
        ) from None


PRICE = TypeAdapter(schemas.Price)
PRICE_RANGE = {"minimum": 0, "maximum": float(schemas.MAX_PRICE)}

Catalog = NamedDependency[CatalogService]
SkuParam = Annotated[str, Parameter(description="Product SKU, e.g. KR-KS-001", max_length=32)]


class ProductController(Controller):
    path = "/api/v1/products"
    tags = ["catalog"]
    dependencies = {"catalog": Provide(provide_catalog)}

    @get(
        "/",
        operation_id="ListProducts",
        summary="Search and list active products",
        responses={200: ResponseSpec(data_container=schemas.ProductPage, description="A page")},
    )
    async def list_products(
        self,
        state: State,
        request: Request[Any, Any, Any],
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
            Parameter(
                description="true: only products with some size × colour available; "
                "false: only sold-out ones"
            ),
        ] = None,
        min_price: Annotated[
            Decimal | None,
            Parameter(description="Lowest price in UAH", schema_extra=PRICE_RANGE),
        ] = None,
        max_price: Annotated[
            Decimal | None,
            Parameter(description="Highest price in UAH", schema_extra=PRICE_RANGE),
        ] = None,
        limit: Annotated[int, Parameter(description="Page size", ge=1, le=100)] = 20,
        offset: Annotated[int, Parameter(description="Items to skip", ge=0, le=BIGINT_MAX)] = 0,
    ) -> Response[bytes]:
        # Pages are cached as JSON with their ETag by catalog version (app.cache.pages), sent
        # as stored. The service is built here, not injected: a dependency with clean-up costs
        # more than a cached page does, and a cached page opens no session.
        async with catalog_of(state) as catalog:
            page = await catalog.search_page(
                query=q,
                category=category,
                in_stock=in_stock,
                min_price=price_parameter("min_price", min_price),
                max_price=price_parameter("max_price", max_price),
                limit=limit,
                offset=offset,
            )
        # Clients may keep a page, but must ask again each time (prices and stock change):
        # the answer is then a bodiless 304 while the catalog has not changed.
        headers = {"ETag": page.etag, "Cache-Control": "no-cache"}
        if _not_modified(request, page.etag):
            return Response(b"", status_code=HTTP_304_NOT_MODIFIED, headers=headers)
        return Response(page.body, media_type=MediaType.JSON, headers=headers)

    @get(
        "/{sku:str}",
        operation_id="GetProduct",
        summary="One product card with variants and photos",
        responses={200: ResponseSpec(data_container=schemas.Product, description="The card")},
    )
    async def get_product(self, catalog: Catalog, sku: SkuParam) -> Response[bytes]:
        # The cache keeps each card's JSON: sent as stored, not parsed and encoded again.
        return Response(await catalog.get_product_json(sku), media_type=MediaType.JSON)

    @get(
        "/{sku:str}/stock",
        operation_id="GetProductStock",
        summary="Pieces available per size × colour (on hand less open orders)",
    )
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
        position: Annotated[int, Parameter(description="Photo number, from 0", ge=0, le=INT32_MAX)],
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
    ) -> schemas.AdminProduct:
        # A catalog file may name photo files; through the API only URLs can be given.
        problems = [
            {"key": f"photos[{i}]", "source": "body", "message": "must be an http(s) URL"}
            for i, source in enumerate(data.photos)
            if not source.startswith(("http://", "https://"))
        ]
        if problems:
            raise ValidationException(detail="photos must be http(s) URLs", extra=problems)
        return await catalog.create_product(data)

    @get(
        "/{sku:str}",
        operation_id="AdminGetProduct",
        summary="A product card with on hand and reserved stock, also when inactive",
    )
    async def admin_get_product(self, catalog: Catalog, sku: SkuParam) -> schemas.AdminProduct:
        return await catalog.admin_product(sku)

    @patch("/{sku:str}", operation_id="UpdateProduct", summary="Change some fields of a product")
    async def update_product(
        self, catalog: Catalog, sku: SkuParam, data: JSONBody[schemas.ProductUpdate]
    ) -> schemas.AdminProduct:
        return await catalog.update_product(sku, data)

    @put("/{sku:str}/price", operation_id="SetProductPrice", summary="Set the price in UAH")
    async def set_product_price(
        self, catalog: Catalog, sku: SkuParam, data: JSONBody[schemas.PriceUpdate]
    ) -> schemas.AdminProduct:
        return await catalog.set_price(sku, data.price)

    @put(
        "/{sku:str}/stock",
        operation_id="SetVariantStock",
        summary="Set the pieces on hand of one size × colour",
        description=(
            "Sets on hand, what the shop has; open orders keep their reservations. Set below "
            "what open orders hold, the variant shows 0 available, is marked `short` in the "
            "answer, and the managers' chat is told."
        ),
    )
    async def set_variant_stock(
        self, catalog: Catalog, sku: SkuParam, data: JSONBody[schemas.StockUpdate]
    ) -> schemas.AdminProduct:
        return await catalog.set_stock(sku, data.size, data.colour, data.qty)

    @post(
        "/{sku:str}/deactivate",
        operation_id="DeactivateProduct",
        summary="Hide a product from customers",
        status_code=200,
    )
    async def deactivate_product(self, catalog: Catalog, sku: SkuParam) -> schemas.AdminProduct:
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
        plan = await catalog.import_upload(
            await data.file.read(),
            name=data.file.filename or "catalog",
            photos={photo.filename: await photo.read() for photo in data.photos},
            max_catalog_bytes=settings.max_catalog_bytes,
            max_photo_bytes=settings.max_photo_bytes,
            photo_hasher=catalog_photo_hasher(settings.vision),
            prune=prune,
            dry_run=dry_run,
        )
        return schemas.ImportResult(
            added=plan.added,
            changed=plan.changed,
            deactivated=plan.deactivated,
            unchanged=plan.unchanged,
            dry_run=plan.dry_run,
            shortfalls=plan.shortfalls,
            summary=plan.summary(),
        )

    @get(
        "/export",
        operation_id="ExportCatalog",
        summary="The catalog as products_master.yaml (photo paths as stored)",
        media_type="application/yaml",
        # The body is a YAML mapping (products, shop), not a string: clients and schemathesis
        # parse it as what the media type says.
        responses={
            200: ResponseSpec(
                data_container=dict[str, Any],
                media_type="application/yaml",
                description="products_master.yaml",
            )
        },
    )
    async def export_catalog(self, state: State) -> Response[str]:
        text = await render_catalog(state.db.session_factory)
        return Response(
            text,
            media_type="application/yaml; charset=utf-8",
            headers={"Content-Disposition": 'attachment; filename="products_master.yaml"'},
        )
