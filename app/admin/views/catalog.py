"""Catalog pages: the list, a product's page (fields, stock inline, photos), a new product,
import with a dry run first, export. Every write goes through `CatalogService`, so caches,
the catalog version and the RAG index follow at once; each one is written to the audit log."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.params import Parameter, QueryParameter
from litestar.response import Template
from pydantic import ValidationError

from app.admin.context import PanelDep, client_address, provide_catalog, provide_panel
from app.admin.messages import explain
from app.admin.pages import page, see_other
from app.admin.uploads import plan_digest
from app.admin.users import Principal
from app.admin.views.forms import Form, field_errors
from app.catalog import schemas
from app.catalog.errors import CatalogFileError, ProductChangedError, ProductExistsError
from app.catalog.exporter import render_catalog
from app.catalog.importer import ImportPlan
from app.catalog.service import CatalogService, PreparedPhoto
from app.inputs import INT32_MAX
from app.vision.pipeline import catalog_photo_hasher

Catalog = NamedDependency[CatalogService]
SkuParam = Annotated[str, Parameter(description="Product SKU", max_length=32)]
PAGE_SIZE = 25
# The fields a product page edits, in the order of the form, and what the page calls them.
EDITED = {
    "name": "Назва",
    "category": "Категорія",
    "price": "Ціна, грн",
    "description": "Опис",
    "visual_features": "Як виглядає (для впізнавання фото)",
    "recognition_tips": "Підказки для впізнавання",
    "tags": "Теги (через кому)",
}
NEW_FIELDS = {
    "sku": "Артикул",
    **{k: v for k, v in EDITED.items() if k != "tags"},
    "sizes": "Розміри (через кому)",
    "colours": "Кольори (через кому)",
    "tags": "Теги (через кому)",
}


def _values_of(card: schemas.AdminProduct) -> dict[str, str]:
    """The product's fields as its form shows them."""
    return {
        "name": card.name,
        "category": card.category,
        "price": f"{card.price:.2f}",
        "description": card.description,
        "visual_features": card.visual_features,
        "recognition_tips": card.recognition_tips,
        "tags": ", ".join(card.tags),
    }


def _changes(form: Form) -> dict[str, Any]:
    fields: dict[str, Any] = {name: form.text(name) for name in EDITED if name != "tags"}
    fields["tags"] = form.words("tags")
    return fields


def _diff(before: schemas.AdminProduct, after: schemas.AdminProduct) -> tuple[dict[str, Any], ...]:
    """(before, after) of the edited fields that differ."""
    old, new = before.model_dump(), after.model_dump()
    changed = [name for name in (*EDITED, "active") if old[name] != new[name]]
    return {n: old[n] for n in changed}, {n: new[n] for n in changed}


def _hasher(state: State) -> Any:
    return catalog_photo_hasher(state.settings.vision)


class CatalogController(Controller):
    path = "/catalog"
    dependencies = {"catalog": Provide(provide_catalog), "panel": Provide(provide_panel)}

    @get("/")
    async def list_products(
        self,
        request: Request[Any, Any, Any],
        catalog: Catalog,
        q: Annotated[str, Parameter(description="Words to find", max_length=200)] = "",
        category: Annotated[str, Parameter(description="Category", max_length=80)] = "",
        stock: Annotated[str, Parameter(description="in, out or empty", max_length=3)] = "",
        status: Annotated[
            str, Parameter(description="active, hidden or all", max_length=6)
        ] = "active",
        page_number: Annotated[int, QueryParameter(name="page", ge=1, le=INT32_MAX)] = 1,
    ) -> Template:
        active = {"active": True, "hidden": False}.get(status)
        found = await catalog.search(
            query=q or None,
            category=category or None,
            in_stock={"in": True, "out": False}.get(stock),
            include_inactive=True,
            active=active,
            limit=PAGE_SIZE,
            offset=(page_number - 1) * PAGE_SIZE,
        )
        return page(
            request,
            "catalog.html",
            section="catalog",
            found=found,
            categories=await catalog.categories(),
            filters={"q": q, "category": category, "stock": stock, "status": status},
            page_number=page_number,
            pages=max((found.total + PAGE_SIZE - 1) // PAGE_SIZE, 1),
        )

    # A new product -----------------------------------------------------------------------------

    @get("/new")
    async def new_product_form(self, request: Request[Any, Any, Any]) -> Template:
        return page(
            request, "product_new.html", section="catalog", fields=NEW_FIELDS, values={}, errors={}
        )

    @post("/new", status_code=200)
    async def create_product(
        self, request: Request[Any, Any, Any], state: State, catalog: Catalog, panel: PanelDep
    ) -> Response[Any]:
        form = await Form.read(request)
        values = form.values()

        def again(errors: dict[str, str], status: int = 422) -> Template:
            return page(
                request,
                "product_new.html",
                section="catalog",
                fields=NEW_FIELDS,
                values=values,
                errors=errors,
                status_code=status,
            )

        try:
            data = schemas.ProductIn(
                sku=form.text("sku").upper(),
                **{name: form.text(name) for name in EDITED if name != "tags"},
                sizes=form.words("sizes"),
                colours=form.words("colours"),
                tags=form.words("tags"),
            )
        except ValidationError as error:
            return again(field_errors(error))
        photos: list[PreparedPhoto] = []
        try:
            for _name, content in await form.files("photos"):
                photos.append(
                    await catalog.prepare_photo(
                        data.sku,
                        content,
                        photo_hasher=_hasher(state),
                        max_photo_bytes=state.settings.max_photo_bytes,
                    )
                )
        except CatalogFileError as error:
            return again({"photos": "фото не прийнято: " + "; ".join(error.problems)})
        try:
            card = await catalog.create_product(data)
        except ProductExistsError as error:
            return again({"sku": explain(error)}, status=409)
        for photo in photos:
            card = await catalog.add_photo(data.sku, photo)
        after = {"price": card.price, "name": card.name, "photos": len(card.photos)}
        await panel.audit.record(
            request.state.admin,
            "product.create",
            data.sku,
            after=after,
            address=client_address(request),
        )
        return see_other(f"/admin/catalog/{data.sku}", "created")

    # Import and export -------------------------------------------------------------------------

    @get("/import")
    async def import_form(self, request: Request[Any, Any, Any]) -> Template:
        return page(request, "import.html", section="catalog")

    @post("/import", status_code=200)
    async def preview_import(
        self, request: Request[Any, Any, Any], state: State, catalog: Catalog, panel: PanelDep
    ) -> Template:
        form = await Form.read(request)
        files = await form.files("file")
        if not files:
            return page(
                request,
                "import.html",
                section="catalog",
                status_code=422,
                error="Оберіть файл каталогу (YAML або CSV).",
            )
        filename, content = files[0]
        photos = dict(await form.files("photos"))
        prune = form.flag("prune")
        plan = await self._plan(state, catalog, filename, content, photos, prune, dry_run=True)
        user: Principal = request.state.admin
        upload = await panel.uploads.keep(
            user.id, filename, content, photos, prune=prune, digest=plan_digest(plan)
        )
        return page(
            request,
            "import_preview.html",
            section="catalog",
            plan=plan,
            upload=upload,
            filename=filename,
        )

    @post("/import/{upload_id:str}", status_code=200)
    async def apply_import(
        self,
        request: Request[Any, Any, Any],
        state: State,
        catalog: Catalog,
        panel: PanelDep,
        upload_id: Annotated[str, Parameter(max_length=64)],
    ) -> Response[Any]:
        user: Principal = request.state.admin
        upload = await panel.uploads.get(upload_id, user.id)
        args = (state, catalog, upload.filename, upload.content, upload.photos, upload.prune)
        plan = await self._plan(*args, dry_run=True)
        digest = plan_digest(plan)
        if digest != upload.plan_digest:
            # The catalog changed since the preview: show what the file would do now.
            await panel.uploads.replanned(upload.id, digest)
            return page(
                request,
                "import_preview.html",
                section="catalog",
                plan=plan,
                upload=upload.id,
                filename=upload.filename,
                changed_meanwhile=True,
            )
        plan = await self._plan(*args, dry_run=False)
        await panel.uploads.drop(upload.id)
        await panel.audit.record(
            user,
            "catalog.import",
            upload.filename,
            after={
                "added": plan.added,
                "changed": plan.changed,
                "deactivated": plan.deactivated,
                "summary": plan.summary(),
            },
            address=client_address(request),
        )
        return page(request, "import_done.html", section="catalog", plan=plan)

    @staticmethod
    async def _plan(
        state: State,
        catalog: CatalogService,
        filename: str,
        content: bytes,
        photos: dict[str, bytes],
        prune: bool,
        *,
        dry_run: bool,
    ) -> ImportPlan:
        settings = state.settings
        return await catalog.import_upload(
            content,
            name=filename,
            photos=photos,
            max_catalog_bytes=settings.max_catalog_bytes,
            max_photo_bytes=settings.max_photo_bytes,
            photo_hasher=_hasher(state),
            prune=prune,
            dry_run=dry_run,
        )

    @get("/export", media_type="application/yaml")
    async def export_catalog(self, state: State) -> Response[str]:
        return Response(
            await render_catalog(state.db.session_factory),
            media_type="application/yaml; charset=utf-8",
            headers={"Content-Disposition": 'attachment; filename="products_master.yaml"'},
        )

    # One product -------------------------------------------------------------------------------

    @get("/{sku:str}")
    async def show_product(
        self, request: Request[Any, Any, Any], catalog: Catalog, sku: SkuParam
    ) -> Template:
        card = await catalog.admin_product(sku)
        return self._product_page(request, card, _values_of(card))

    @staticmethod
    def _product_page(
        request: Request[Any, Any, Any],
        card: schemas.AdminProduct,
        values: dict[str, str],
        *,
        errors: dict[str, str] | None = None,
        conflict: list[tuple[str, str, str]] | None = None,
        status_code: int = 200,
    ) -> Template:
        return page(
            request,
            "product.html",
            section="catalog",
            card=card,
            fields=EDITED,
            values=values,
            errors=errors or {},
            conflict=conflict,
            status_code=status_code,
        )

    @post("/{sku:str}", status_code=200)
    async def save_product(
        self, request: Request[Any, Any, Any], catalog: Catalog, panel: PanelDep, sku: SkuParam
    ) -> Response[Any]:
        form = await Form.read(request)
        before = await catalog.admin_product(sku)
        sent = {**form.values(), "tags": ", ".join(form.words("tags"))}
        try:
            changes = schemas.ProductUpdate(**_changes(form))
        except ValidationError as error:
            return self._product_page(
                request, before, sent, errors=field_errors(error), status_code=422
            )
        try:
            expected = datetime.fromisoformat(form.text("updated_at"))
        except ValueError:
            expected = None
        if expected is None or expected.tzinfo is None:
            # Without the version it was edited from, a save could overwrite someone's.
            return self._product_page(
                request, before, sent, errors={"form": "оновіть сторінку"}, status_code=422
            )
        try:
            after = await catalog.update_product(sku, changes, expected_updated_at=expected)
        except ProductChangedError:
            # Nothing lost: the form keeps what this person typed, beside what is saved now;
            # the page now carries the current version, so saving again is a deliberate choice.
            current = await catalog.admin_product(sku)
            now = _values_of(current)
            conflict = [
                (EDITED[name], sent.get(name, ""), now[name])
                for name in EDITED
                if sent.get(name, "") != now[name]
            ]
            return self._product_page(request, current, sent, conflict=conflict, status_code=409)
        old, new = _diff(before, after)
        if new:
            await panel.audit.record(
                request.state.admin,
                "product.update",
                sku,
                before=old,
                after=new,
                address=client_address(request),
            )
        return see_other(f"/admin/catalog/{sku}", "saved")

    @post("/{sku:str}/stock", status_code=200)
    async def set_stock(
        self, request: Request[Any, Any, Any], catalog: Catalog, panel: PanelDep, sku: SkuParam
    ) -> Template:
        """One variant's on hand, from the inline form of its row (htmx swaps the row)."""
        form = await Form.read(request)
        size, colour = form.text("size"), form.text("colour")
        before = await catalog.admin_product(sku)
        old = next((s for s in before.stock if (s.size, s.colour) == (size, colour)), None)
        try:
            wanted = schemas.StockUpdate(size=size, colour=colour, qty=form.text("on_hand"))
        except ValidationError as error:
            return self._stock_row(
                request, sku, old, error=field_errors(error).get("qty", "неправильне значення")
            )
        after = await catalog.set_stock(sku, wanted.size, wanted.colour, wanted.qty)
        line = next(s for s in after.stock if (s.size, s.colour) == (size, colour))
        if old is None or old.on_hand != line.on_hand:
            await panel.audit.record(
                request.state.admin,
                "stock.set",
                f"{sku} {size}/{colour}",
                before={"on_hand": None if old is None else old.on_hand},
                after={"on_hand": line.on_hand, "reserved": line.reserved},
                address=client_address(request),
            )
        return self._stock_row(request, sku, line, saved=True)

    @staticmethod
    def _stock_row(
        request: Request[Any, Any, Any],
        sku: str,
        line: schemas.StockLevel | None,
        *,
        error: str | None = None,
        saved: bool = False,
    ) -> Template:
        if line is None:  # a variant that is not the product's: nothing to show again
            return Template(
                template_name="_notice.html",
                context={"message": "У товару немає такого розміру й кольору."},
                status_code=404,
            )
        return Template(
            template_name="_stock_row.html",
            context={"sku": sku, "line": line, "error": error, "saved": saved},
            status_code=422 if error else 200,
        )

    @post("/{sku:str}/photos", status_code=200)
    async def add_photo(
        self,
        request: Request[Any, Any, Any],
        state: State,
        catalog: Catalog,
        panel: PanelDep,
        sku: SkuParam,
    ) -> Response[Any]:
        form = await Form.read(request)
        files = await form.files("photo")
        card = await catalog.admin_product(sku)
        if not files:
            return self._product_page(
                request, card, _values_of(card), errors={"photo": "оберіть фото"}, status_code=422
            )
        try:
            prepared = await catalog.prepare_photo(
                sku,
                files[0][1],
                photo_hasher=_hasher(state),
                max_photo_bytes=state.settings.max_photo_bytes,
            )
        except CatalogFileError as error:
            return self._product_page(
                request,
                card,
                _values_of(card),
                errors={"photo": "фото не прийнято: " + "; ".join(error.problems)},
                status_code=422,
            )
        after = await catalog.add_photo(sku, prepared)
        await panel.audit.record(
            request.state.admin,
            "product.photo",
            sku,
            before={"photos": len(card.photos)},
            after={"photos": len(after.photos), "sha256": prepared.loaded.sha256},
            address=client_address(request),
        )
        return see_other(f"/admin/catalog/{sku}", "photo")

    @get("/{sku:str}/photos/{position:int}", media_type="image/*")
    async def show_photo(
        self,
        catalog: Catalog,
        sku: SkuParam,
        position: Annotated[int, Parameter(ge=0, le=INT32_MAX)],
    ) -> Response[bytes]:
        content, content_type = await catalog.photo(sku, position, include_inactive=True)
        return Response(content, media_type=content_type)

    @post("/{sku:str}/deactivate", status_code=200)
    async def deactivate(
        self, request: Request[Any, Any, Any], catalog: Catalog, panel: PanelDep, sku: SkuParam
    ) -> Response[Any]:
        return await self._set_active(request, catalog, panel, sku, active=False)

    @post("/{sku:str}/activate", status_code=200)
    async def activate(
        self, request: Request[Any, Any, Any], catalog: Catalog, panel: PanelDep, sku: SkuParam
    ) -> Response[Any]:
        return await self._set_active(request, catalog, panel, sku, active=True)

    @staticmethod
    async def _set_active(
        request: Request[Any, Any, Any],
        catalog: CatalogService,
        panel: PanelDep,
        sku: str,
        *,
        active: bool,
    ) -> Response[Any]:
        before = await catalog.admin_product(sku)
        await catalog.update_product(sku, schemas.ProductUpdate(active=active))
        if before.active != active:
            await panel.audit.record(
                request.state.admin,
                "product.activate" if active else "product.deactivate",
                sku,
                before={"active": before.active},
                after={"active": active},
                address=client_address(request),
            )
        return see_other(f"/admin/catalog/{sku}", "shown" if active else "hidden")
