"""The Litestar application: routes, dependencies, and the lifespan that opens the backends."""

from __future__ import annotations

import logging
from contextlib import AsyncExitStack, asynccontextmanager
from functools import partial
from importlib.metadata import version
from typing import TYPE_CHECKING

from litestar import Litestar
from litestar.datastructures import State
from litestar.openapi import OpenAPIConfig
from litestar.openapi.spec import Components, SecurityScheme

from app.cache.factory import create_backend
from app.cache.product import ProductCache
from app.cache.vision import VisionCache
from app.catalog.api import AdminCatalogController, AdminProductController, ProductController
from app.catalog.service import load_card
from app.catalog.version import CatalogVersion
from app.config import Settings, get_settings
from app.db.runtime import open_database
from app.errors import EXCEPTION_HANDLERS
from app.health import live, ready
from app.llm.client import ModelChain
from app.llm.commands import open_ledger
from app.rag.embedders import create_embedder
from app.rag.search import retrieve
from app.vision.model import ModelVision
from app.vision.pipeline import CatalogPhotoIndex, PhotoIdentifier

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from litestar.types import ControllerRouterHandler

logger = logging.getLogger(__name__)

# Catalog uploads are the largest bodies; everything else is small JSON.
MAX_BODY_BYTES = 64 * 1024 * 1024


def create_app(settings: Settings | None = None) -> Litestar:
    """Build the app. Backends open in the lifespan, so building is cheap and side-effect free."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        async with open_database(settings) as db, AsyncExitStack() as stack:
            version = CatalogVersion(db.engine)
            await version.start()
            stack.push_async_callback(version.stop)
            backend = create_backend(settings)
            stack.push_async_callback(backend.close)
            ledger = open_ledger(settings)
            stack.push_async_callback(ledger.close)
            chain = ModelChain(settings.llm, ledger=ledger)
            stack.push_async_callback(chain.close)
            embedder = create_embedder(settings.rag)

            async def top_skus(query: str, k: int) -> list[str]:
                hits = await retrieve(db.session_factory, embedder, query, k=k)
                return [hit.sku for hit in hits]

            cards = ProductCache(
                backend,
                partial(load_card, db.session_factory),
                ttl=settings.cache.product_ttl,
                version=version.current,
            )
            app.state.update(
                db=db,
                catalog_version=version,
                product_cache=cards,
                identifier=PhotoIdentifier(
                    cache=VisionCache(
                        backend,
                        settings.cache.vision_ttl,
                        settings.cache.vision_max_distance,
                        settings.vision.match_max_color_distance,
                    ),
                    index=CatalogPhotoIndex(db.session_factory, version),
                    cards=cards.get,
                    version=version,
                    settings=settings.vision,
                    model=ModelVision(
                        chain, top_skus, cards.get, settings.vision, k=settings.rag.top_k
                    ),
                ),
            )
            logger.info(
                "kramar ready (database: %s, cache: %s, model links: %d, embedder: %s)",
                "embedded" if db.embedded else "external",
                backend.name,
                len(settings.llm.links),
                embedder.name,
            )
            yield

    handlers: list[ControllerRouterHandler] = [ProductController, live, ready]
    if settings.admin_token is not None:
        handlers += [AdminProductController, AdminCatalogController]
    else:
        logger.info("KRAMAR_ADMIN_TOKEN unset: admin API disabled")

    return Litestar(
        route_handlers=handlers,
        state=State({"settings": settings}),
        lifespan=[lifespan],
        exception_handlers=EXCEPTION_HANDLERS,
        request_max_body_size=MAX_BODY_BYTES,
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
