"""Catalog business rules: reading product cards, searching, checking stock, and admin writes."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, Self, TypeVar

from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import undefer

from app.cache.pages import Page
from app.catalog import schemas, stock
from app.catalog.errors import (
    ConstraintViolationError,
    PhotoNotFoundError,
    ProductChangedError,
    ProductExistsError,
    ProductNotFoundError,
    VariantNotFoundError,
)
from app.catalog.importer import (
    hash_photos,
    import_catalog,
    load_photo,
    load_upload_items,
    photo_row,
)
from app.catalog.models import CatalogState, Photo, Product, Variant
from app.notices.outbox import add_notice
from app.observability.tracing import traced

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Iterable, Mapping
    from datetime import datetime
    from decimal import Decimal

    from sqlalchemy import ColumnElement
    from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

    from app.catalog.importer import Analyses, ImportPlan, LoadedPhoto, PhotoHasher

PHOTO_PATH = "/api/v1/products/{sku}/photos/{position}"
# The unique constraint on products.sku, as the naming convention and Postgres name it.
SKU_CONSTRAINTS = {"uq_products_sku", "products_sku_key"}


def _constraint_of(error: IntegrityError) -> str | None:
    """The name of the constraint asyncpg reports (on the driver error SQLAlchemy wraps)."""
    for candidate in (error.orig, getattr(error.orig, "__cause__", None)):
        name = getattr(candidate, "constraint_name", None)
        if isinstance(name, str):
            return name
    return None


def photo_url(sku: str, photo: Photo) -> str:
    # sha256 is set exactly when bytes are stored; `content` is deferred: never load it here.
    if photo.sha256 is None and photo.source.startswith(("http://", "https://")):
        return photo.source
    return PHOTO_PATH.format(sku=sku, position=photo.position)


def to_card(product: Product, levels: Mapping[int, stock.Level]) -> schemas.Product:
    """The product card as the API and the bot show it: stock as available (`app.catalog.stock`).

    `levels` holds the stock of the product's variants (`stock.levels`).
    """
    variants = [
        schemas.Variant(
            size=v.size, colour=v.colour, available=levels.get(v.id, stock.NO_LEVEL).available
        )
        for v in product.variants
    ]
    return schemas.Product(
        sku=product.sku,
        name=product.name,
        category=product.category,
        price=product.price,
        in_stock=any(v.available > 0 for v in variants),
        active=product.active,
        description=product.description,
        sizes=list(product.sizes),
        colours=list(product.colours),
        variants=_ordered(variants, product.sizes, product.colours),
        visual_features=product.visual_features,
        recognition_tips=product.recognition_tips,
        tags=list(product.tags),
        photos=[
            schemas.Photo(position=p.position, url=photo_url(product.sku, p))
            for p in product.photos
        ],
        updated_at=product.updated_at,
    )


def to_admin_card(product: Product, levels: Mapping[int, stock.Level]) -> schemas.AdminProduct:
    """The card with on hand and reserved per variant, for the shop's manager."""
    card = to_card(product, levels)
    lines = []
    for v in product.variants:
        level = levels.get(v.id, stock.NO_LEVEL)
        lines.append(
            schemas.StockLevel(
                size=v.size,
                colour=v.colour,
                on_hand=level.on_hand,
                reserved=level.reserved,
                available=level.available,
                short=level.reserved > level.on_hand,
            )
        )
    return schemas.AdminProduct(**dict(card), stock=_ordered(lines, product.sizes, product.colours))


_V = TypeVar("_V", schemas.Variant, schemas.StockLevel)


def _ordered(variants: list[_V], sizes: list[str], colours: list[str]) -> list[_V]:
    """Variants in the declared order of sizes, then colours ("S, M, L", not alphabetical)."""
    size_rank = {s: i for i, s in enumerate(sizes)}
    colour_rank = {c: i for i, c in enumerate(colours)}
    return sorted(
        variants,
        key=lambda v: (size_rank.get(v.size, len(sizes)), colour_rank.get(v.colour, len(colours))),
    )


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


@dataclass(frozen=True)
class PreparedPhoto:
    """A photo file checked and hashed, ready to store (`CatalogService.prepare_photo`)."""

    loaded: LoadedPhoto
    hashes: Analyses


class CardCache(Protocol):
    """What the service needs of `app.cache.product.ProductCache`."""

    async def get(self, sku: str) -> schemas.Product | None: ...

    async def get_entry(self, sku: str) -> tuple[schemas.Product, bytes] | None: ...


class PageSource(Protocol):
    """What the service needs of `app.cache.pages.PageCache`."""

    async def get_page(
        self, query: Mapping[str, object], load: Callable[[], Awaitable[bytes]]
    ) -> Page: ...


class VersionObserver(Protocol):
    """What the service needs of `app.catalog.version.CatalogVersion`."""

    def observe(self, version: int) -> None: ...


@traced("catalog.load_card")
async def load_card(
    session_factory: async_sessionmaker[AsyncSession], sku: str
) -> schemas.Product | None:
    """The card of `sku` (active or not) straight from the database: the product cache's loader."""
    async with session_factory() as session:
        product = await session.scalar(select(Product).where(Product.sku == sku))
        if product is None:
            return None
        return to_card(product, await stock.levels(session, (v.id for v in product.variants)))


class CatalogService:
    """Reads and writes the catalog; writes commit. Use as `async with CatalogService(...)`.

    The database session is opened on first use only: a card served from the cache costs no
    session at all (opening and closing one was 40 % of a cached GET).

    With a `product_cache`, cards are read through it. Its keys carry the catalog version, which
    the database bumps on every write; after its own commits the service tells `version` the new
    number at once, so the very next read in this process uses the new key without waiting for
    the NOTIFY to come back.
    """

    def __init__(
        self,
        session_factory: async_sessionmaker[AsyncSession],
        product_cache: CardCache | None = None,
        version: VersionObserver | None = None,
        page_cache: PageSource | None = None,
    ) -> None:
        self._session_factory = session_factory
        self._session: AsyncSession | None = None
        self.product_cache = product_cache
        self.page_cache = page_cache
        self.version = version

    @property
    def session(self) -> AsyncSession:
        if self._session is None:
            self._session = self._session_factory()
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.close()

    async def _changed(self, sku: str) -> None:
        if self.version is not None:
            self.version.observe(await self.catalog_version())

    async def _load(self, sku: str, *, lock: bool = False) -> Product:
        statement = select(Product).where(Product.sku == sku)
        if lock:
            statement = statement.with_for_update().execution_options(populate_existing=True)
        product = await self.session.scalar(statement)
        if product is None:
            raise ProductNotFoundError(sku)
        return product

    @traced("catalog.get_product_json")
    async def get_product_json(self, sku: str) -> bytes:
        """The card of an active product as JSON, from the cache's stored encoding when there."""
        if self.product_cache is None:
            return (await self.get_product(sku)).model_dump_json().encode()
        entry = await self.product_cache.get_entry(sku)
        if entry is None or not entry[0].active:
            raise ProductNotFoundError(sku)
        return entry[1]

    @traced("catalog.get_product")
    async def get_product(self, sku: str, *, include_inactive: bool = False) -> schemas.Product:
        card: schemas.Product | None
        if self.product_cache is not None:
            card = await self.product_cache.get(sku)
        else:
            product = await self.session.scalar(
                select(Product).where(Product.sku == sku).execution_options(populate_existing=True)
            )
            card = None if product is None else await self._card(product)
        if card is None or (not card.active and not include_inactive):
            raise ProductNotFoundError(sku)
        return card

    @traced("catalog.search_page")
    async def search_page(
        self,
        *,
        query: str | None = None,
        category: str | None = None,
        in_stock: bool | None = None,
        min_price: Decimal | None = None,
        max_price: Decimal | None = None,
        limit: int = 20,
        offset: int = 0,
    ) -> Page:
        """A page of active products as JSON (`search`) with its ETag, through the page cache
        when there."""
        params = {
            "query": query,
            "category": category,
            "in_stock": in_stock,
            "min_price": min_price,
            "max_price": max_price,
            "limit": limit,
            "offset": offset,
        }

        async def load() -> bytes:
            # A session of its own: the load may outlive this request (single flight shares it
            # with the other requests for the page, and goes on if this client leaves).
            async with CatalogService(self._session_factory) as catalog:
                page = await catalog.search(
                    query=query,
                    category=category,
                    in_stock=in_stock,
                    min_price=min_price,
                    max_price=max_price,
                    limit=limit,
                    offset=offset,
                )
            return page.model_dump_json().encode()

        if self.page_cache is None:
            return Page.of(await load())
        return await self.page_cache.get_page(params, load)

    @traced("catalog.search")
    async def search(
        self,
        *,
        query: str | None = None,
        category: str | None = None,
        in_stock: bool | None = None,
        min_price: Decimal | None = None,
        max_price: Decimal | None = None,
        include_inactive: bool = False,
        active: bool | None = None,
        limit: int = 20,
        offset: int = 0,
    ) -> schemas.ProductPage:
        """A page of products by name; `active` (true or false) lists only those, whatever
        `include_inactive` says."""
        conditions: list[ColumnElement[bool]] = []
        if active is not None:
            conditions.append(Product.active.is_(active))
        elif not include_inactive:
            conditions.append(Product.active.is_(True))
        if query:
            for word in query.split():
                pattern = f"%{_escape_like(word)}%"
                conditions.append(
                    or_(
                        Product.sku.ilike(pattern, escape="\\"),
                        Product.name.ilike(pattern, escape="\\"),
                        Product.category.ilike(pattern, escape="\\"),
                        Product.description.ilike(pattern, escape="\\"),
                        func.array_to_string(Product.tags, " ").ilike(pattern, escape="\\"),
                    )
                )
        if category:
            conditions.append(func.lower(Product.category) == category.lower())
        if in_stock is not None:
            conditions.append(stock.in_stock() if in_stock else ~stock.in_stock())
        if min_price is not None:
            conditions.append(Product.price >= min_price)
        if max_price is not None:
            conditions.append(Product.price <= max_price)

        total = await self.session.scalar(select(func.count(Product.id)).where(*conditions)) or 0
        rows = await self.session.execute(
            select(
                Product.sku,
                Product.name,
                Product.category,
                Product.price,
                Product.active,
                stock.in_stock(),
            )
            .where(*conditions)
            .order_by(Product.name, Product.sku)
            .limit(limit)
            .offset(offset)
        )
        items = [
            schemas.ProductSummary(
                sku=sku, name=name, category=cat, price=price, active=active, in_stock=stocked
            )
            for sku, name, cat, price, active, stocked in rows
        ]
        return schemas.ProductPage(items=items, total=total, limit=limit, offset=offset)

    @traced("catalog.check_stock")
    async def check_stock(
        self, sku: str, *, size: str | None = None, colour: str | None = None
    ) -> schemas.StockAnswer:
        card = await self.get_product(sku)
        variants = [
            v
            for v in card.variants
            if (size is None or v.size.casefold() == size.casefold())
            and (colour is None or v.colour.casefold() == colour.casefold())
        ]
        if (size or colour) and not variants:
            raise VariantNotFoundError(sku, size or "*", colour or "*")
        return schemas.StockAnswer(
            sku=sku, in_stock=any(v.available > 0 for v in variants), variants=variants
        )

    @traced("catalog.photo")
    async def photo(
        self, sku: str, position: int, *, include_inactive: bool = False
    ) -> tuple[bytes, str]:
        """The stored bytes and content type of one product photo."""
        conditions = [Product.sku == sku, Photo.position == position]
        if not include_inactive:
            conditions.append(Product.active.is_(True))
        photo = await self.session.scalar(
            select(Photo).join(Product).where(*conditions).options(undefer(Photo.content))
        )
        if photo is None or photo.content is None:
            raise PhotoNotFoundError(sku, position)
        return photo.content, photo.content_type or "application/octet-stream"

    @traced("catalog.stored_photos")
    async def stored_photos(self, sources: Iterable[str]) -> dict[str, bytes]:
        """Bytes already stored for these photo paths, so an uploaded catalog may omit them."""
        wanted = sorted(set(sources))
        if not wanted:
            return {}
        rows = await self.session.execute(
            select(Photo.source, Photo.content)
            .where(Photo.source.in_(wanted), Photo.content.is_not(None))
            .order_by(Photo.id)
        )
        # The newest row wins where products share a path.
        return {source: content for source, content in rows if content is not None}

    @traced("catalog.categories")
    async def categories(self) -> list[str]:
        """Every category name in use, active products or not, sorted."""
        rows = await self.session.scalars(
            select(Product.category).distinct().order_by(Product.category)
        )
        return list(rows)

    @traced("catalog.catalog_version")
    async def catalog_version(self) -> int:
        return await self.session.scalar(select(CatalogState.version)) or 0

    # Admin writes: each answers the manager's card, read from the database ---------------------

    async def _card(self, product: Product) -> schemas.Product:
        return to_card(product, await stock.levels(self.session, (v.id for v in product.variants)))

    async def admin_product(self, sku: str) -> schemas.AdminProduct:
        """The card with on hand and reserved, active or not, never from the cache."""
        product = await self.session.scalar(
            select(Product).where(Product.sku == sku).execution_options(populate_existing=True)
        )
        if product is None:
            raise ProductNotFoundError(sku)
        levels = await stock.levels(self.session, (v.id for v in product.variants))
        return to_admin_card(product, levels)

    async def create_product(self, data: schemas.ProductIn) -> schemas.AdminProduct:
        if await self.session.scalar(select(Product.id).where(Product.sku == data.sku)):
            raise ProductExistsError(data.sku)
        product = Product(
            sku=data.sku,
            name=data.name,
            category=data.category,
            price=data.price,
            description=data.description,
            sizes=data.sizes,
            colours=data.colours,
            visual_features=data.visual_features,
            recognition_tips=data.recognition_tips,
            tags=data.tags,
            active=data.active,
            variants=[
                Variant(size=s, colour=c, on_hand=q) for (s, c), q in data.stock_map().items()
            ],
            photos=[Photo(position=i, source=url) for i, url in enumerate(data.photos)],
        )
        self.session.add(product)
        try:
            await self.session.commit()
        except IntegrityError as error:
            await self.session.rollback()
            constraint = _constraint_of(error)
            if constraint in SKU_CONSTRAINTS:  # a concurrent create of the same SKU
                raise ProductExistsError(data.sku) from error
            raise ConstraintViolationError(data.sku, constraint) from error
        await self._changed(data.sku)
        return await self.admin_product(data.sku)

    async def update_product(
        self,
        sku: str,
        changes: schemas.ProductUpdate,
        *,
        expected_updated_at: datetime | None = None,
    ) -> schemas.AdminProduct:
        """Change the fields `changes` sets. With `expected_updated_at` (the `updated_at` of the
        card the edit started from) the write happens only if nobody saved the product since:
        `ProductChangedError` otherwise, and nothing is written."""
        if expected_updated_at is None:
            product = await self._load(sku)
        else:
            # The row lock first: a save committing meanwhile is then seen, not overwritten.
            product = await self._load(sku, lock=True)
            if product.updated_at != expected_updated_at:
                await self.session.rollback()
                raise ProductChangedError(sku)
        for field, value in changes.model_dump(exclude_unset=True).items():
            if value is not None:
                setattr(product, field, value)
        await self.session.commit()
        await self._changed(sku)
        return await self.admin_product(sku)

    async def set_price(self, sku: str, price: Decimal) -> schemas.AdminProduct:
        return await self.update_product(sku, schemas.ProductUpdate(price=price))

    async def deactivate(self, sku: str) -> schemas.AdminProduct:
        return await self.update_product(sku, schemas.ProductUpdate(active=False))

    async def set_stock(self, sku: str, size: str, colour: str, qty: int) -> schemas.AdminProduct:
        """Set the pieces on hand of one variant; open orders keep their reservations.

        Below what open orders hold, the variant shows 0 available and the managers' chat is
        told (a notice written in this same transaction); the answer marks the variant `short`.
        """
        product = await self._load(sku)
        # The row lock first, then the reserved count in a later statement: a reservation
        # committing meanwhile is then counted (see `OrderService.start_order`).
        variant = await self.session.scalar(
            select(Variant)
            .where(Variant.product_id == product.id, Variant.size == size, Variant.colour == colour)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        if variant is None:
            raise VariantNotFoundError(sku, size, colour)
        if variant.on_hand != qty:
            found = await stock.levels(self.session, [variant.id])
            short = stock.shortfalls(product, {(variant.size, variant.colour): qty}, found)
            if short:
                add_notice(self.session, stock.shortfall_notice(short, "залишок змінено через API"))
            variant.on_hand = qty
        await self.session.commit()
        await self._changed(sku)
        return await self.admin_product(sku)

    @staticmethod
    async def prepare_photo(
        sku: str, content: bytes, *, photo_hasher: PhotoHasher, max_photo_bytes: int
    ) -> PreparedPhoto:
        """Check and hash one photo file for `sku` as an imported catalog photo is (the
        importer's own path; the hasher decodes it within the vision limits, as a customer's
        photo is). `CatalogFileError` for a file too big, not PNG/JPEG/WebP, or undecodable.

        Separate from `add_photo`, so a new product's photos are all checked before it exists.
        """
        digest = hashlib.sha256(content).hexdigest()
        extension = _EXTENSIONS.get(content[:4], "jpg")
        source = f"photos/{sku}-{digest[:12]}.{extension}"
        loaded = load_photo(source, content, max_photo_bytes=max_photo_bytes)
        return PreparedPhoto(loaded, await hash_photos([loaded], photo_hasher))

    async def add_photo(self, sku: str, photo: PreparedPhoto) -> schemas.AdminProduct:
        """Store a prepared photo as the last of `sku`'s; the bot can identify it as soon as
        this commits (the catalog version moves, and each replica's photo index follows)."""
        product = await self._load(sku, lock=True)
        position = max((p.position for p in product.photos), default=-1) + 1
        product.photos.append(photo_row(photo.loaded, position, photo.hashes))
        await self.session.commit()
        await self._changed(sku)
        return await self.admin_product(sku)

    async def import_upload(
        self,
        data: bytes,
        *,
        name: str,
        photos: Mapping[str, bytes],
        max_catalog_bytes: int,
        max_photo_bytes: int,
        photo_hasher: PhotoHasher,
        prune: bool = False,
        dry_run: bool = False,
    ) -> ImportPlan:
        """Import an uploaded catalog file (the API's and the panel's upload): validated whole,
        then written in one transaction, or with `dry_run` only planned.

        Photos the file names come from `photos` or are the ones already stored under that
        path. `CatalogFileError` lists every problem; nothing is written then.
        """
        items = await load_upload_items(
            data,
            name=name,
            photos=photos,
            stored=self.stored_photos,
            max_catalog_bytes=max_catalog_bytes,
            max_photo_bytes=max_photo_bytes,
        )
        plan = await import_catalog(
            self._session_factory, items, prune=prune, dry_run=dry_run, photo_hasher=photo_hasher
        )
        if not dry_run and self.version is not None:
            self.version.observe(await self.catalog_version())
        return plan


# A stored photo's file name ends as its bytes say, whatever the upload was called.
_EXTENSIONS = {b"\x89PNG": "png", b"RIFF": "webp"}


async def active_briefs(
    session_factory: async_sessionmaker[AsyncSession],
) -> list[schemas.ProductBrief]:
    """Every active product's name, category and descriptive text (no stock, no photos): what
    the conversation needs to know which kinds of things the shop sells."""
    query = select(
        Product.sku,
        Product.name,
        Product.category,
        Product.description,
        Product.visual_features,
        Product.tags,
    ).where(Product.active.is_(True))
    async with session_factory() as session:
        rows = await session.execute(query.order_by(Product.category, Product.sku))
    return [
        schemas.ProductBrief(
            sku=sku,
            name=name,
            category=category,
            text=" ".join([description, visual_features, *tags]),
        )
        for sku, name, category, description, visual_features, tags in rows
    ]
