"""The web panel as the app mounts it: its router (pages, static files, guards, CSRF), the
template engine, the security-headers hook, and its start-up inside the app's lifespan."""

from __future__ import annotations

import logging
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from litestar import Router
from litestar.middleware import DefineMiddleware
from litestar.middleware.csrf import CSRFMiddleware
from litestar.plugins.htmx import HTMXRequest
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.static_files import create_static_files_router
from litestar.template import TemplateConfig

from app.admin.audit import AuditLog
from app.admin.context import Panel
from app.admin.guards import PUBLIC, require_session
from app.admin.keys import shared_key
from app.admin.messages import ROLE_NAMES, STATUS_NAMES
from app.admin.overview import Overview
from app.admin.pages import EXCEPTION_HANDLERS
from app.admin.security import (
    ADMIN_PATH,
    CSRF_FIELD,
    csrf_config,
    secure_cookies,
    security_headers,
)
from app.admin.sessions import Sessions
from app.admin.store import PostgresStore
from app.admin.throttle import Limits, Throttle
from app.admin.uploads import PendingUploads
from app.admin.users import AdminUsers
from app.admin.views.audit import AuditController
from app.admin.views.auth import AuthController
from app.admin.views.catalog import CatalogController
from app.admin.views.handoffs import HandoffController
from app.admin.views.orders import OrderController
from app.admin.views.overview import OverviewController
from app.admin.views.shop import ShopController
from app.admin.views.users import UserController
from app.bot.history import ChatHistory
from app.dialog.render import format_uah

if TYPE_CHECKING:
    from collections.abc import AsyncIterator
    from datetime import datetime

    from litestar.config.csrf import CSRFConfig
    from litestar.datastructures import State
    from litestar.stores.base import Store
    from litestar.types import BeforeMessageSendHookHandler

    from app.bot.running import TelegramBot
    from app.config import Settings
    from app.services import Services

logger = logging.getLogger(__name__)

HERE = Path(__file__).parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"


def _when(value: datetime | None) -> str:
    return "" if value is None else value.strftime("%d.%m.%Y %H:%M UTC")


def template_config() -> TemplateConfig[JinjaTemplateEngine]:
    """Jinja with autoescape on, and the panel's filters."""

    def configure(engine: JinjaTemplateEngine) -> None:
        filters = engine.engine.filters
        filters["uah"] = format_uah
        filters["when"] = _when
        filters["status_name"] = lambda status: STATUS_NAMES.get(str(status), str(status))
        filters["role_name"] = lambda role: ROLE_NAMES.get(str(role), str(role))
        engine.engine.globals["csrf_field"] = CSRF_FIELD

    return TemplateConfig(
        directory=TEMPLATES, engine=JinjaTemplateEngine, engine_callback=configure
    )


@dataclass
class AdminPanel:
    """What `create_app` mounts; `running` fills `app.state.panel` in the lifespan."""

    router: Router
    templates: TemplateConfig[JinjaTemplateEngine]
    before_send: BeforeMessageSendHookHandler
    csrf: CSRFConfig
    settings: Settings

    @asynccontextmanager
    async def running(
        self, services: Services, telegram: TelegramBot | None, state: State
    ) -> AsyncIterator[None]:
        """Open the panel's stores and services for as long as the app runs."""
        settings = self.settings
        factory = services.db.session_factory
        if settings.admin.secret_key is None:
            # Shared by every replica: a token one signed is good on all of them.
            self.csrf.secret = await shared_key(factory, "csrf")
        redis = None
        store: Store
        if settings.redis.url is None:
            store = PostgresStore(factory)
        else:  # shared by replicas, and expiring by itself
            from litestar.stores.redis import RedisStore

            from app.cache.redis import redis_client

            redis = redis_client(
                settings.redis.url.get_secret_value(),
                max_connections=settings.redis.max_connections,
                timeout=None,
            )
            store = RedisStore(redis, namespace="kramar-admin")
        sessions = Sessions(
            store,
            idle_seconds=settings.admin.session_idle_seconds,
            absolute_seconds=settings.admin.session_absolute_seconds,
        )
        if isinstance(store, PostgresStore):
            await store.delete_expired()
        state.panel = Panel(
            settings=settings,
            users=AdminUsers(factory),
            sessions=sessions,
            throttle=Throttle(
                factory,
                Limits(
                    account_failures=settings.admin.account_failures,
                    address_failures=settings.admin.address_failures,
                    window=timedelta(seconds=settings.admin.failure_window_seconds),
                ),
            ),
            audit=AuditLog(factory),
            uploads=PendingUploads(factory),
            overview=Overview(
                factory, services.counts, services.ledger, settings.llm.daily_budget_usd
            ),
            history=ChatHistory(factory),
            orders=services.orders,
            handoffs=services.handoffs,
            conversation=services.conversation,
            shop=services.shop,
            telegram=telegram,
            secure=secure_cookies(settings),
        )
        try:
            yield
        finally:
            if redis is not None:
                await redis.aclose()


def build_panel(settings: Settings) -> AdminPanel:
    """The panel's router and settings; cheap, nothing opened until `running`."""
    csrf = csrf_config(settings)
    static = create_static_files_router(
        path="/static",
        directories=[STATIC],
        opt={PUBLIC: True},
        include_in_schema=False,
        name="admin-static",
    )
    router = Router(
        path=ADMIN_PATH,
        route_handlers=[
            AuthController,
            OverviewController,
            CatalogController,
            OrderController,
            HandoffController,
            ShopController,
            AuditController,
            UserController,
            static,
        ],
        guards=[require_session],
        middleware=[DefineMiddleware(CSRFMiddleware, config=csrf)],
        exception_handlers=EXCEPTION_HANDLERS,
        request_class=HTMXRequest,
        include_in_schema=False,
    )
    return AdminPanel(
        router=router,
        templates=template_config(),
        before_send=security_headers(secure_cookies(settings)),
        csrf=csrf,
        settings=settings,
    )
