"""The audit log, newest first."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, get
from litestar.di import Provide
from litestar.params import Parameter, QueryParameter
from litestar.response import Template

from app.admin.context import PanelDep, provide_panel
from app.admin.pages import page
from app.inputs import INT32_MAX

PAGE_SIZE = 50
FAMILIES = {
    "": "усі",
    "product": "товари",
    "stock": "залишки",
    "catalog": "імпорт",
    "order": "замовлення",
    "handoff": "передачі",
    "shop": "магазин",
    "user": "користувачі",
    "auth": "входи",
}


class AuditController(Controller):
    path = "/audit"
    dependencies = {"panel": Provide(provide_panel)}

    @get("/")
    async def show_audit(
        self,
        request: Request[Any, Any, Any],
        panel: PanelDep,
        action: Annotated[str, Parameter(description="Kind of change", max_length=32)] = "",
        page_number: Annotated[int, QueryParameter(name="page", ge=1, le=INT32_MAX)] = 1,
    ) -> Template:
        family = action if action in FAMILIES else ""
        entries, total = await panel.audit.page(
            limit=PAGE_SIZE, offset=(page_number - 1) * PAGE_SIZE, action=family or None
        )
        return page(
            request,
            "audit.html",
            section="audit",
            entries=entries,
            families=FAMILIES,
            action=family,
            page_number=page_number,
            pages=max((total + PAGE_SIZE - 1) // PAGE_SIZE, 1),
        )
