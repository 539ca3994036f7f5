"""What every panel request can reach: the panel's own services and the shop's, from the app
state that the lifespan filled (`app.admin.panel.running`).

Litestar reads the providers' annotations at run time: those imports are real ones.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from litestar import Request
from litestar.datastructures import State
from litestar.di import NamedDependency

from app.admin.audit import AuditLog
from app.admin.overview import Overview
from app.admin.sessions import Sessions
from app.admin.throttle import Throttle
from app.admin.uploads import PendingUploads
from app.admin.users import AdminUsers, Principal
from app.bot.history import ChatHistory
from app.bot.running import TelegramBot
from app.catalog.service import CatalogService
from app.config import Settings
from app.dialog.engine import Conversation
from app.dialog.handoffs import Handoffs
from app.orders.service import OrderService
from app.shop.service import ShopService


@dataclass(frozen=True)
class Panel:
    """The panel's services and the shop's, one set per process."""

    settings: Settings
    users: AdminUsers
    sessions: Sessions
    throttle: Throttle
    audit: AuditLog
    uploads: PendingUploads
    overview: Overview
    history: ChatHistory
    orders: OrderService
    handoffs: Handoffs
    conversation: Conversation
    shop: ShopService
    telegram: TelegramBot | None
    secure: bool
    """Cookies are Secure (the panel is served over HTTPS)."""


def panel_of(state: State) -> Panel:
    panel: Panel = state.panel
    return panel


async def provide_panel(state: State) -> Panel:
    return panel_of(state)


async def provide_principal(request: Request[Any, Any, Any]) -> Principal:
    """The signed-in person (the session guard put them there)."""
    principal: Principal = request.state.admin
    return principal


async def provide_catalog(state: State) -> AsyncIterator[CatalogService]:
    async with CatalogService(
        state.db.session_factory, product_cache=state.product_cache, version=state.catalog_version
    ) as catalog:
        yield catalog


def client_address(request: Request[Any, Any, Any]) -> str | None:
    """The client's address as uvicorn saw it (proxy headers from FORWARDED_ALLOW_IPS only)."""
    return request.client.host if request.client is not None else None


PanelDep = NamedDependency[Panel]
