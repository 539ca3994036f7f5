"""The Litestar application: routes, dependencies, and the lifespan that opens the backends."""

from __future__ import annotations

import logging
from contextlib import AsyncExitStack, asynccontextmanager
from importlib.metadata import version
from typing import TYPE_CHECKING

from litestar import Litestar
from litestar.datastructures import State
from litestar.openapi import OpenAPIConfig
from litestar.openapi.spec import Components, SecurityScheme
from litestar.plugins.htmx import HTMXConfig, HTMXPlugin

from app.admin.panel import build_panel
from app.catalog.api import AdminCatalogController, AdminProductController, ProductController
from app.config import Settings, get_settings
from app.errors import EXCEPTION_HANDLERS
from app.health import live, ready
from app.inputs import ExactNumbersRequest, refuse_nul_parameters
from app.observability.api import MetricsController
from app.observability.tracing import configure_tracing
from app.orders.api import AdminOrderController
from app.services import open_services

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from litestar.types import ControllerRouterHandler

    from app.bot.running import TelegramBot
    from app.services import Services

logger = logging.getLogger(__name__)

# Catalog uploads are the largest bodies; everything else is small JSON.
MAX_BODY_BYTES = 64 * 1024 * 1024


@asynccontextmanager
async def telegram_bot(services: Services) -> AsyncIterator[TelegramBot | None]:
    """The bot while the app runs; None without a bot token, and then aiogram is never imported."""
    if services.settings.telegram.bot_token is None:
        logger.info("KRAMAR_TELEGRAM_BOT_TOKEN unset: no Telegram (try `kramar chat`)")
        yield None
        return
    from app.bot.runtime import run_bot

    async with run_bot(services) as telegram:
        yield telegram


def create_app(settings: Settings | None = None) -> Litestar:
    """Build the app. Backends open in the lifespan, so building is cheap and side-effect free."""
    settings = settings or get_settings()

    # The manager's web panel (/admin): built here, opened in the lifespan.
    panel = build_panel(settings) if settings.admin.panel else None

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        shutdown_tracing = configure_tracing(settings)
        try:
            async with (
                open_services(settings) as services,
                telegram_bot(services) as telegram,
                AsyncExitStack() as stack,
            ):
                app.state.update(
                    db=services.db,
                    catalog_version=services.catalog_version,
                    product_cache=services.product_cache,
                    page_cache=services.page_cache,
                    identifier=services.identifier,
                    orders=services.orders,
                    conversation=services.conversation,
                    telegram=telegram,
                )
                if panel is not None:
                    await stack.enter_async_context(panel.running(services, telegram, app.state))
                yield
        finally:
            if shutdown_tracing is not None:
                shutdown_tracing()  # flushes the spans still queued

    handlers: list[ControllerRouterHandler] = [ProductController, live, ready, MetricsController]
    if settings.admin_token is not None:
        handlers += [AdminProductController, AdminCatalogController, AdminOrderController]
    else:
        logger.info("KRAMAR_ADMIN_TOKEN unset: admin API disabled")
    # The Telegram parts load aiogram (seconds of start-up): imported only when configured.
    if settings.alerts.token is not None:
        from app.alerts.api import AlertmanagerController

        handlers.append(AlertmanagerController)
    else:
        logger.info("KRAMAR_ALERTS_TOKEN unset: /alerts/alertmanager disabled")
    if panel is not None:
        handlers.append(panel.router)
    else:
        logger.info("KRAMAR_ADMIN_PANEL=false: no web panel at /admin")
    state = State({"settings": settings})
    webhook = settings.telegram.bot_token is not None and bool(settings.public_url)
    if webhook:
        assert settings.telegram.webhook_secret is not None  # Settings refuses it otherwise
        from app.bot.api import receive_update

        handlers.append(receive_update)
        state["webhook_secret"] = settings.telegram.webhook_secret.get_secret_value()

    app = Litestar(
        route_handlers=handlers,
        state=state,
        lifespan=[lifespan],
        exception_handlers=EXCEPTION_HANDLERS,
        guards=[refuse_nul_parameters],
        request_class=ExactNumbersRequest,
        request_max_body_size=MAX_BODY_BYTES,
        template_config=panel.templates if panel is not None else None,
        before_send=[panel.before_send] if panel is not None else [],
        # The panel's router sets HTMXRequest itself; the API keeps ExactNumbersRequest.
        plugins=[HTMXPlugin(HTMXConfig(set_request_class_globally=False))],
        # Logging is ours (app/observability/logs.py): Litestar's default config would add a
        # second root handler that neither redacts secrets nor writes JSON.
        logging_config=None,
        openapi_config=OpenAPIConfig(
            title="kramar",
            version=version("kramar"),
            description="Catalog API of the kramar shop assistant. Prices in UAH.",
            path="/schema",
            components=Components(
                security_schemes={
                    "BearerToken": SecurityScheme(
                        type="http", scheme="bearer", description="KRAMAR_ADMIN_TOKEN"
                    )
                }
            ),
        ),
        debug=False,
    )
    if webhook:
        from app.bot.fast_path import WebhookFastPath

        # Ahead of the router: the webhook's hot path skips the per-request machinery.
        app.asgi_handler = WebhookFastPath(app.asgi_handler, app.state)
    return app
