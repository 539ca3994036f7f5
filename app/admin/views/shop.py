"""The shop-info page, for owners: delivery, payment, returns, size charts, contacts and hours.

Saved through `ShopService.edit`, so a form is validated exactly as a catalog file's `shop:`
section is; a wrong field is shown beside itself and nothing is stored. A save bumps the catalog
version, so the bot's next answer (on every replica) reads the new section.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from litestar import Controller, Request, Response, get, post
from litestar.di import Provide
from litestar.response import Template

from app.admin.context import PanelDep, client_address, provide_panel
from app.admin.guards import owners_only
from app.admin.pages import page, see_other
from app.admin.views.forms import Form
from app.admin.views.shop_form import CARRIERS, CONTACTS, PAYMENT_KINDS, ShopForm
from app.shop.errors import InvalidShopSectionError
from app.shop.service import to_document

if TYPE_CHECKING:
    from app.shop.service import Edited

_EDITORS = {"import": "імпорт файлу каталогу", "operator": "оператор Kubernetes (ConfigMap)"}


def editor_name(edited: Edited | None) -> str:
    """Who wrote the section last, as the page says it."""
    if edited is None:
        return ""
    if edited.by.startswith("admin:"):
        return f"{edited.by.removeprefix('admin:')} (панель)"
    return _EDITORS.get(edited.by, edited.by)


class ShopController(Controller):
    path = "/shop"
    guards = [owners_only]
    dependencies = {"panel": Provide(provide_panel)}

    @get("/")
    async def show_shop(self, request: Request[Any, Any, Any], panel: PanelDep) -> Template:
        return await self._page(request, panel, ShopForm.of(await panel.shop.get()))

    @staticmethod
    async def _page(
        request: Request[Any, Any, Any],
        panel: PanelDep,
        form: ShopForm,
        *,
        errors: dict[str, str] | None = None,
        status_code: int = 200,
    ) -> Template:
        edited = await panel.shop.edited()
        return page(
            request,
            "shop.html",
            section="shop",
            values=form.values,
            rows=form.rows,
            errors=errors or {},
            carriers=CARRIERS,
            payment_kinds=PAYMENT_KINDS,
            contacts=CONTACTS,
            edited=edited,
            editor=editor_name(edited),
            status_code=status_code,
        )

    @post("/", status_code=200)
    async def save_shop(self, request: Request[Any, Any, Any], panel: PanelDep) -> Response[Any]:
        form = ShopForm.read(await Form.read(request))
        user = request.state.admin
        before = await panel.shop.get()
        try:
            after = await panel.shop.edit(form.document(), by=f"admin:{user.username}")
        except InvalidShopSectionError as error:
            errors = form.errors(error.details)
            return await self._page(request, panel, form, errors=errors, status_code=422)
        old = {} if before is None else to_document(before)
        new = to_document(after)
        changed = [key for key in new if old.get(key) != new[key]]
        if changed:
            await panel.audit.record(
                user,
                "shop.update",
                "shop section",
                before=None if before is None else {key: old.get(key) for key in changed},
                after={key: new[key] for key in changed},
                address=client_address(request),
            )
        return see_other("/admin/shop", "shop")
