"""Everything the shop runs on, opened once per process and closed in reverse order.

Both ways in use it: the HTTP app (`kramar serve`) and the terminal chat (`kramar chat`), so a
conversation in the terminal takes exactly the path a Telegram one takes.
"""

from __future__ import annotations

import asyncio
import logging
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING

from app.activity.counts import DailyCounts
from app.activity.vision import CountingIdentifier
from app.cache.factory import create_backend
from app.cache.pages import PageCache
from app.cache.product import ProductCache
from app.cache.session import SessionCache
from app.cache.vision import VisionCache
from app.catalog.errors import PhotoNotFoundError
from app.catalog.importer import count_products, import_catalog, load_catalog
from app.catalog.service import CatalogService, active_briefs, load_card
from app.catalog.version import CatalogVersion
from app.db.runtime import Database, open_database
from app.dialog.agent import TextAgent
from app.dialog.assortment import Assortment
from app.dialog.engine import Conversation
from app.dialog.handoffs import Handoffs
from app.dialog.offline import OfflineAgent
from app.llm.client import ModelChain
from app.llm.commands import open_ledger
from app.observability.metrics import set_llm_daily_budget
from app.orders.service import OrderService
from app.rag.embedders import create_embedder
from app.rag.indexer import reindex
from app.rag.search import retrieve
from app.rag.sync import IndexSync
from app.shop.service import ShopService
from app.vision.backfill import FeatureBackfill
from app.vision.model import ModelVision
from app.vision.pipeline import CatalogPhotoIndex, PhotoIdentifier, catalog_photo_hasher

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

    from app.cache.backend import CacheBackend
    from app.config import Settings
    from app.llm.costs import CostLedger
    from app.rag.embedders import Embedder
    from app.rag.search import Hit

logger = logging.getLogger(__name__)

EXPIRY_INTERVAL = 60


@dataclass(frozen=True)
class Services:
    settings: Settings
    db: Database
    catalog_version: CatalogVersion
    backend: CacheBackend
    product_cache: ProductCache
    page_cache: PageCache
    identifier: PhotoIdentifier
    chain: ModelChain
    orders: OrderService
    conversation: Conversation
    handoffs: Handoffs
    agent: TextAgent
    embedder: Embedder
    ledger: CostLedger
    counts: DailyCounts
    shop: ShopService
    """The shop section (delivery, payment, returns, ...): what the admin panel edits."""


class FirstPhotos:
    """The first photo of a product as bytes, kept in memory until the catalog version moves.

    Every card the bot sends carries one; without this each card read its bytes from the
    database again, although Telegram is sent only a file_id after the first upload.
    """

    MAX_ENTRIES = 256  # about 10 MB of demo-sized photos; cleared, not evicted, past it

    def __init__(
        self, session_factory: async_sessionmaker[AsyncSession], version: CatalogVersion
    ) -> None:
        self._session_factory = session_factory
        self._version = version
        self._photos: dict[str, bytes | None] = {}
        self._for_version: int | None = None

    async def get(self, sku: str) -> bytes | None:
        current = await self._version.current()
        if current != self._for_version or len(self._photos) >= self.MAX_ENTRIES:
            self._photos.clear()
            self._for_version = current
        if sku not in self._photos:
            self._photos[sku] = await self._load(sku)
        return self._photos[sku]

    async def _load(self, sku: str) -> bytes | None:
        async with CatalogService(self._session_factory) as catalog:
            try:
                content, _ = await catalog.photo(sku, 0)
            except PhotoNotFoundError:
                return None
            return content


async def expire_reservations(orders: OrderService) -> None:
    """Give back the stock of drafts whose reservation lapsed (safe on every replica at once)."""
    while True:
        await asyncio.sleep(EXPIRY_INTERVAL)
        try:
            expired = await orders.expire_reservations()
        except Exception:
            logger.exception("expiring reservations failed; next try in %d s", EXPIRY_INTERVAL)
            continue
        if expired:
            logger.info("%d lapsed reservation(s) cancelled, stock returned", expired)


async def seed_empty_catalog(settings: Settings, db: Database) -> None:
    """Load KRAMAR_CATALOG_FILE into a database that has no products yet.

    The first `make run` or `docker run` then has a shop to show, imported by the one process
    that already started the embedded Postgres.
    """
    if await count_products(db.session_factory):
        return
    items = await asyncio.to_thread(
        load_catalog,
        settings.catalog_file,
        max_catalog_bytes=settings.max_catalog_bytes,
        max_photo_bytes=settings.max_photo_bytes,
    )
    plan = await import_catalog(
        db.session_factory, items, photo_hasher=catalog_photo_hasher(settings.vision)
    )
    logger.info("empty embedded database: %s: %s", settings.catalog_file, plan.summary())


@asynccontextmanager
async def open_services(settings: Settings, *, seed_empty: bool = False) -> AsyncIterator[Services]:
    """Open everything; an empty embedded database (or any, with `seed_empty`) is seeded."""
    async with open_database(settings) as db, AsyncExitStack() as stack:
        if db.embedded or seed_empty:
            await seed_empty_catalog(settings, db)
        version = CatalogVersion(db.engine)
        await version.start()
        stack.push_async_callback(version.stop)
        backend = create_backend(settings)
        stack.push_async_callback(backend.close)
        ledger = open_ledger(settings)
        stack.push_async_callback(ledger.close)
        chain = ModelChain(settings.llm, ledger=ledger)
        stack.push_async_callback(chain.close)
        set_llm_daily_budget(settings.llm.daily_budget_usd)
        embedder = create_embedder(settings.rag)
        try:
            # Incremental: only products whose text changed are embedded again (none, usually).
            report = await reindex(db.session_factory, embedder)
            logger.info("text index: %s", report.summary())
        except Exception:  # retrieval falls back to full-text search; the shop still serves
            logger.exception("could not update the text index; run `kramar reindex`")
        if settings.rag.sync == "inprocess":
            # No operator deployed: this process keeps the index in step with catalog writes.
            sync = IndexSync(
                db.engine,
                db.session_factory,
                embedder,
                debounce_seconds=settings.rag.sync_debounce_seconds,
                reconcile_seconds=settings.rag.sync_reconcile_seconds,
            )
            await sync.start()
            stack.push_async_callback(sync.stop)

        async def search(query: str, k: int) -> list[Hit]:
            return await retrieve(db.session_factory, embedder, query, k=k)

        async def top_skus(query: str, k: int) -> list[str]:
            return [hit.sku for hit in await search(query, k)]

        cards = ProductCache(
            backend,
            partial(load_card, db.session_factory),
            ttl=settings.cache.product_ttl,
            version=version.current,
        )
        photo_index = CatalogPhotoIndex(
            db.session_factory,
            version,
            feature_memory_bytes=settings.vision.feature_memory_mb << 20,
        )
        photo_index.start()  # built while the rest starts up; the first photo waits for the rest
        stack.push_async_callback(photo_index.close)
        # Photos stored without current features (before this version, or another vocabulary).
        backfill = FeatureBackfill(db.session_factory, catalog_photo_hasher(settings.vision))
        backfill.start()
        stack.push_async_callback(backfill.close)
        counts = DailyCounts(db.session_factory)
        # Counting which path answered each photo, per day in Postgres, for the admin overview.
        identifier: PhotoIdentifier = CountingIdentifier(
            counts=counts,
            cache=VisionCache(
                backend,
                settings.cache.vision_ttl,
                settings.cache.vision_max_distance,
                settings.vision.match_max_color_distance,
            ),
            index=photo_index,
            cards=cards.get,
            version=version,
            settings=settings.vision,
            model=ModelVision(chain, top_skus, cards.get, settings.vision, k=settings.rag.top_k),
        )
        stack.callback(identifier.close)
        orders = OrderService(
            db.session_factory, reservation_minutes=settings.orders.reservation_minutes
        )
        shop = ShopService(db.session_factory, version)
        offline = OfflineAgent(
            search,
            cards.get,
            assortment=Assortment(partial(active_briefs, db.session_factory), version.current),
            shop=shop.get,
            min_score=settings.dialog.text_card_min_score,
            k=settings.rag.top_k,
        )
        agent = TextAgent(chain, offline, search, cards.get, shop=shop.get, k=settings.rag.top_k)
        handoffs = Handoffs(db.session_factory)
        conversation = Conversation(
            sessions=SessionCache(backend, settings.cache.session_ttl),
            cards=cards.get,
            photo=FirstPhotos(db.session_factory, version).get,
            agent=agent,
            identifier=identifier,
            orders=orders,
            handoffs=handoffs,
            settings=settings.dialog,
            staffed=settings.manager_chat_id is not None,
            shop=shop.get,
        )
        logger.info(
            "kramar ready (database: %s, cache: %s, model links: %d, embedder: %s)",
            "embedded" if db.embedded else "external",
            backend.name,
            len(settings.llm.links),
            embedder.name,
        )
        expiry = asyncio.create_task(expire_reservations(orders), name="reservation-expiry")
        stack.callback(expiry.cancel)
        yield Services(
            settings=settings,
            db=db,
            catalog_version=version,
            backend=backend,
            product_cache=cards,
            page_cache=PageCache(backend, settings.cache.page_ttl, version.current),
            identifier=identifier,
            chain=chain,
            orders=orders,
            conversation=conversation,
            handoffs=handoffs,
            agent=agent,
            embedder=embedder,
            ledger=ledger,
            counts=counts,
            shop=shop,
        )
