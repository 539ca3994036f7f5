"""The overview: today's figures and the last two weeks in a chart."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get
from litestar.di import Provide
from litestar.response import Template

from app.admin.charts import Series, bar_chart, meter
from app.admin.context import PanelDep, provide_panel
from app.admin.pages import page

PATHS = {
    "cache": "повтор (кеш)",
    "photo_index": "фото каталогу",
    "model": "модель",
    "none": "не впізнано",
}
"""Names of the identification paths; a path added later shows under its own code."""


class OverviewController(Controller):
    path = "/"
    dependencies = {"panel": Provide(provide_panel)}

    @get("/", name="admin-overview")
    async def show_overview(self, request: Request[Any, Any, Any], panel: PanelDep) -> Template:
        figures = await panel.overview.figures()
        labels = [day.day.strftime("%d.%m") for day in figures.days]
        chart = bar_chart(
            labels,
            [
                Series("розмов", [d.conversations for d in figures.days], "bar-a"),
                Series("замовлень", [d.orders for d in figures.days], "bar-b"),
                Series("передач", [d.handoffs for d in figures.days], "bar-c"),
            ],
            title="Розмови, замовлення й передачі за 14 днів",
        )
        budget = figures.budget_usd
        spend = None
        if budget is not None:
            spend = meter(
                figures.spend_usd, budget, title=f"${figures.spend_usd:.2f} з ${budget:.2f}"
            )
        today = figures.today
        photos = sorted(today.photos.items(), key=lambda item: -item[1])
        return page(
            request,
            "overview.html",
            section="overview",
            figures=figures,
            today=today,
            photos=[(PATHS.get(path, path), count) for path, count in photos],
            photos_total=sum(today.photos.values()),
            chart=chart,
            spend_meter=spend,
            shared_ledger=panel.settings.redis.url is not None,
        )
